// SPDX-License-Identifier: GPL-2.0

//! Rename: read and check everything it changes, then move (or swap) the names, then write the
//! inodes.

use super::super::super::format::{
    dir_check_name, BlockIo, DiskInode, Error, FT_CHR, S_IFCHR, S_IFDIR, S_IFMT,
};
use super::super::{Ctx, Rename, Renamed};
use super::{ftype_of, inc_nlink, is_empty_dir, new_record, pick, set_parent, touch};

/// Moves the link a subdirectory gives its parent from directory `from` to directory `to`.
fn move_link<E>(from: &mut DiskInode, to: &mut DiskInode) -> Result<(), Error<E>> {
    from.nlink = from.nlink.saturating_sub(1);
    inc_nlink(to)
}

/// Checks that the rename `r` of `p.moved` over `p.other` may go on (the same inode was already
/// ruled out); returns the moved inode's file type.
fn check<E>(r: &Rename<'_>, p: &Renamed) -> Result<u8, Error<E>> {
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
    /// Renames as [`Rename`] describes, leaving in `p` the inodes as written (whatever `p` held
    /// before is overwritten; after an error it is unspecified).
    ///
    /// Moving a directory to another parent updates its recorded parent and both parents' link
    /// counts. Without `exchange`, an existing target is replaced: it must be of the same kind
    /// (directory or not: `Invalid` otherwise) and, if a directory, empty (`NotEmpty`); it loses
    /// a link (a directory drops to 0) and is freed later with [`free_inode`](Self::free_inode).
    /// A name renamed onto the same inode (hard links of one inode, or the same name) is a
    /// successful no-op, and `p` holds neither `other` nor `whiteout`. Times: change time of the
    /// moved and the other inode, modification and change time of both directories.
    pub fn rename(&mut self, r: &Rename<'_>, p: &mut Renamed) -> Result<(), Error<I::Error>> {
        if r.exchange && r.whiteout.is_some() {
            return Err(Error::Invalid);
        }
        dir_check_name::<I::Error>(r.old_name)?;
        dir_check_name::<I::Error>(r.new_name)?;
        self.rename_read(r, p)?;
        p.whiteout = None;
        if p.other.as_ref().is_some_and(|o| o.ino == p.moved.ino) {
            p.other = None;
            return Ok(());
        }
        let moved_ft = check(r, p)?;
        let whiteout_ino = match r.whiteout {
            Some(_) => Some(self.pick_ino(r.old_dir)?),
            None => None,
        };
        if r.exchange {
            self.rename_exchange(r, p, moved_ft)?;
        } else {
            self.rename_replace(r, p, moved_ft, whiteout_ino)?;
        }
        p.moved.ctime = r.now;
        self.write_inode(&p.moved)?;
        if let Some(o) = &p.other {
            self.write_inode(o)?;
        }
        touch(&mut p.old_dir, r.now);
        self.write_inode(&p.old_dir)?;
        if let Some(n) = p.other_dir.as_mut() {
            touch(n, r.now);
            self.write_inode(n)?;
        }
        Ok(())
    }

    /// Reads into `p` the directories and the inodes of both names (`NotFound` without the old
    /// name).
    #[inline(never)]
    fn rename_read(&mut self, r: &Rename<'_>, p: &mut Renamed) -> Result<(), Error<I::Error>> {
        p.old_dir = self.read_dir(r.old_dir)?;
        p.other_dir = None;
        if r.old_dir != r.new_dir {
            p.other_dir = Some(self.live_dir(r.new_dir)?);
        }
        let oe = self
            .lookup_in(&p.old_dir, r.old_name)?
            .ok_or(Error::NotFound)?;
        let ne = self.lookup_in(p.new_dir(), r.new_name)?;
        p.moved = self.read_inode(oe.ino)?;
        p.other = None;
        if let Some(e) = ne {
            p.other = Some(self.read_inode(e.ino)?);
        }
        Ok(())
    }

    /// Enters the moved inode, of file type `moved_ft`, at the new name.
    fn link_moved(
        &mut self,
        r: &Rename<'_>,
        p: &mut Renamed,
        moved_ft: u8,
    ) -> Result<(), Error<I::Error>> {
        self.dir_add(
            pick(&mut p.old_dir, &mut p.other_dir),
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
        p: &mut Renamed,
        moved_ft: u8,
    ) -> Result<(), Error<I::Error>> {
        let Some(mut o) = p.other else {
            return Err(Error::NotFound);
        };
        let o_ft = ftype_of(&o)?;
        let o_dir = o.kind() == S_IFDIR;
        let moved_dir = p.moved.kind() == S_IFDIR;
        self.dir_del(&mut p.old_dir, r.old_name)?;
        self.dir_del(pick(&mut p.old_dir, &mut p.other_dir), r.new_name)?;
        self.dir_add(&mut p.old_dir, r.old_name, o.ino, o_ft)?;
        self.link_moved(r, p, moved_ft)?;
        if let Some(n) = p.other_dir.as_mut() {
            if moved_dir {
                set_parent(&mut p.moved, r.new_dir);
                move_link(&mut p.old_dir, n)?;
            }
            if o_dir {
                set_parent(&mut o, r.old_dir);
                move_link(n, &mut p.old_dir)?;
            }
        }
        o.ctime = r.now;
        p.other = Some(o);
        Ok(())
    }

    /// A plain rename: the target, if any, loses its name and a link; the moved inode takes
    /// the new name; a whiteout (inode `whiteout_ino`), if asked for, takes the old one and is
    /// left in `p.whiteout`.
    #[inline(never)]
    fn rename_replace(
        &mut self,
        r: &Rename<'_>,
        p: &mut Renamed,
        moved_ft: u8,
        whiteout_ino: Option<u64>,
    ) -> Result<(), Error<I::Error>> {
        if let Some(o) = p.other.as_mut() {
            self.dir_del(pick(&mut p.old_dir, &mut p.other_dir), r.new_name)?;
            if o.kind() == S_IFDIR {
                o.nlink = 0;
                let n = pick(&mut p.old_dir, &mut p.other_dir);
                n.nlink = n.nlink.saturating_sub(1);
            } else {
                o.nlink = o.nlink.saturating_sub(1);
            }
            o.ctime = r.now;
        }
        self.dir_del(&mut p.old_dir, r.old_name)?;
        self.link_moved(r, p, moved_ft)?;
        if let (true, Some(n)) = (p.moved.kind() == S_IFDIR, p.other_dir.as_mut()) {
            set_parent(&mut p.moved, r.new_dir);
            move_link(&mut p.old_dir, n)?;
        }
        let (Some(w), Some(ino)) = (r.whiteout, whiteout_ino) else {
            return Ok(());
        };
        self.dir_add(&mut p.old_dir, r.old_name, ino, FT_CHR)?;
        self.take_ino(ino)?;
        let wi = p
            .whiteout
            .insert(new_record(ino, &w, S_IFCHR | (w.mode & !S_IFMT)));
        wi.rdev = 0;
        self.write_new_inode(wi)
    }
}
