// SPDX-License-Identifier: GPL-2.0

//! Rename: read and check everything it changes, then move (or swap) the names, then write the
//! inodes.

use super::super::super::format::{
    dir_check_name, BlockIo, DiskInode, Error, FT_CHR, S_IFCHR, S_IFDIR, S_IFMT,
};
use super::super::{Ctx, Rename, Renamed};
use super::{ftype_of, inc_nlink, is_empty_dir, new_record, pick, set_parent, touch};

/// The inodes a rename changes, read before its first write.
struct Parties {
    /// The old directory.
    od: DiskInode,
    /// The new directory, when it is another one.
    nd: Option<DiskInode>,
    /// The inode that moves (the old name's).
    moved: DiskInode,
    /// The inode of the new name, if it exists.
    other: Option<DiskInode>,
}

impl Parties {
    /// What [`Ctx::rename`] returns: these inodes as changed, `other` and `whiteout` as given.
    fn into_renamed(self, other: Option<DiskInode>, whiteout: Option<DiskInode>) -> Renamed {
        let new_dir = self.nd.unwrap_or(self.od);
        Renamed {
            old_dir: self.od,
            new_dir,
            moved: self.moved,
            other,
            whiteout,
        }
    }
}

/// Moves the link a subdirectory gives its parent from directory `from` to directory `to`.
fn move_link<E>(from: &mut DiskInode, to: &mut DiskInode) -> Result<(), Error<E>> {
    from.nlink = from.nlink.saturating_sub(1);
    inc_nlink(to)
}

/// Checks that the rename `r` of `p.moved` over `p.other` may go on (the same inode was already
/// ruled out); returns the moved inode's file type.
fn check<E>(r: &Rename<'_>, p: &Parties) -> Result<u8, Error<E>> {
    if r.exchange && p.other.is_none() {
        return Err(Error::NotFound);
    }
    // Neither inode may be one of the directories (the VFS refuses such renames; a corrupt tree
    // could still ask for them).
    for x in [Some(p.moved.ino), p.other.map(|o| o.ino)]
        .into_iter()
        .flatten()
    {
        if x == r.old_dir || x == r.new_dir {
            return Err(Error::Invalid);
        }
    }
    let moved_ft = ftype_of(&p.moved)?;
    let moved_dir = p.moved.kind() == S_IFDIR;
    if let (Some(o), false) = (&p.other, r.exchange) {
        if moved_dir != (o.kind() == S_IFDIR) {
            return Err(Error::Invalid);
        }
        if moved_dir && !is_empty_dir(o)? {
            return Err(Error::NotEmpty);
        }
    }
    Ok(moved_ft)
}

impl<I: BlockIo> Ctx<'_, I> {
    /// Renames as [`Rename`] describes.
    ///
    /// Moving a directory to another parent updates its recorded parent and both parents' link
    /// counts. Without `exchange`, an existing target is replaced: it must be of the same kind
    /// (directory or not: `Invalid` otherwise) and, if a directory, empty (`NotEmpty`); it loses
    /// a link (a directory drops to 0) and is freed later with [`free_inode`](Self::free_inode).
    /// A name renamed onto the same inode (hard links of one inode, or the same name) is a
    /// successful no-op. Times: change time of the moved and the other inode, modification and
    /// change time of both directories.
    pub fn rename(&mut self, r: &Rename<'_>) -> Result<Renamed, Error<I::Error>> {
        if r.exchange && r.whiteout.is_some() {
            return Err(Error::Invalid);
        }
        dir_check_name::<I::Error>(r.old_name)?;
        dir_check_name::<I::Error>(r.new_name)?;
        let mut p = self.rename_read(r)?;
        if p.other.as_ref().is_some_and(|o| o.ino == p.moved.ino) {
            return Ok(p.into_renamed(None, None));
        }
        let moved_ft = check(r, &p)?;
        let whiteout_ino = match r.whiteout {
            Some(_) => Some(self.pick_ino(r.old_dir)?),
            None => None,
        };
        let whiteout = if r.exchange {
            self.rename_exchange(r, &mut p, moved_ft)?;
            None
        } else {
            self.rename_replace(r, &mut p, moved_ft, whiteout_ino)?
        };
        p.moved.ctime = r.now;
        self.write_inode(&p.moved)?;
        if let Some(o) = &p.other {
            self.write_inode(o)?;
        }
        touch(&mut p.od, r.now);
        self.write_inode(&p.od)?;
        if let Some(n) = p.nd.as_mut() {
            touch(n, r.now);
            self.write_inode(n)?;
        }
        let other = p.other;
        Ok(p.into_renamed(other, whiteout))
    }

    /// Reads the directories and the inodes of both names (`NotFound` without the old name).
    #[inline(never)]
    fn rename_read(&mut self, r: &Rename<'_>) -> Result<Parties, Error<I::Error>> {
        let od = self.read_dir(r.old_dir)?;
        let nd = if r.old_dir == r.new_dir {
            None
        } else {
            Some(self.live_dir(r.new_dir)?)
        };
        let oe = self.lookup_in(&od, r.old_name)?.ok_or(Error::NotFound)?;
        let ne = match &nd {
            Some(n) => self.lookup_in(n, r.new_name)?,
            None => self.lookup_in(&od, r.new_name)?,
        };
        let moved = self.read_inode(oe.ino)?;
        let other = match ne {
            Some(e) => Some(self.read_inode(e.ino)?),
            None => None,
        };
        Ok(Parties {
            od,
            nd,
            moved,
            other,
        })
    }

    /// Enters the moved inode, of file type `moved_ft`, at the new name.
    fn link_moved(
        &mut self,
        r: &Rename<'_>,
        p: &mut Parties,
        moved_ft: u8,
    ) -> Result<(), Error<I::Error>> {
        self.dir_add(
            pick(&mut p.od, &mut p.nd),
            r.new_name,
            p.moved.ino,
            moved_ft,
        )
    }

    /// `RENAME_EXCHANGE`: swaps the entries of the two names, and the parents of directories
    /// that change directory.
    #[inline(never)]
    fn rename_exchange(
        &mut self,
        r: &Rename<'_>,
        p: &mut Parties,
        moved_ft: u8,
    ) -> Result<(), Error<I::Error>> {
        let Some(mut o) = p.other else {
            return Err(Error::NotFound);
        };
        let o_ft = ftype_of(&o)?;
        let o_dir = o.kind() == S_IFDIR;
        let moved_dir = p.moved.kind() == S_IFDIR;
        self.dir_del(&mut p.od, r.old_name)?;
        self.dir_del(pick(&mut p.od, &mut p.nd), r.new_name)?;
        self.dir_add(&mut p.od, r.old_name, o.ino, o_ft)?;
        self.link_moved(r, p, moved_ft)?;
        if let Some(n) = p.nd.as_mut() {
            if moved_dir {
                set_parent(&mut p.moved, r.new_dir);
                move_link(&mut p.od, n)?;
            }
            if o_dir {
                set_parent(&mut o, r.old_dir);
                move_link(n, &mut p.od)?;
            }
        }
        o.ctime = r.now;
        p.other = Some(o);
        Ok(())
    }

    /// A plain rename: the target, if any, loses its name and a link; the moved inode takes
    /// the new name; a whiteout (inode `whiteout_ino`), if asked for, takes the old one and is
    /// returned.
    #[inline(never)]
    fn rename_replace(
        &mut self,
        r: &Rename<'_>,
        p: &mut Parties,
        moved_ft: u8,
        whiteout_ino: Option<u64>,
    ) -> Result<Option<DiskInode>, Error<I::Error>> {
        if let Some(o) = p.other.as_mut() {
            self.dir_del(pick(&mut p.od, &mut p.nd), r.new_name)?;
            if o.kind() == S_IFDIR {
                o.nlink = 0;
                let n = pick(&mut p.od, &mut p.nd);
                n.nlink = n.nlink.saturating_sub(1);
            } else {
                o.nlink = o.nlink.saturating_sub(1);
            }
            o.ctime = r.now;
        }
        self.dir_del(&mut p.od, r.old_name)?;
        self.link_moved(r, p, moved_ft)?;
        if let (true, Some(n)) = (p.moved.kind() == S_IFDIR, p.nd.as_mut()) {
            set_parent(&mut p.moved, r.new_dir);
            move_link(&mut p.od, n)?;
        }
        let (Some(w), Some(ino)) = (r.whiteout, whiteout_ino) else {
            return Ok(None);
        };
        let mut wi = new_record(ino, &w, S_IFCHR | (w.mode & !S_IFMT));
        wi.rdev = 0;
        self.dir_add(&mut p.od, r.old_name, ino, FT_CHR)?;
        self.take_ino(ino)?;
        self.write_new_inode(&wi)?;
        Ok(Some(wi))
    }
}
