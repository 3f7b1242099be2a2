use ferrite_format::*;
use ferrite_testing::*;

#[test]
fn extent_and_dir_smoke() {
    let mut io = MemIo::new(1 << 20);
    let mut s = Box::new(Scratch::new());
    let mut root = ExtentRoot::new();
    for i in 0..2000u64 {
        extent_insert(
            &mut io,
            5,
            &mut root,
            Extent {
                logical: i * 2,
                physical: 10 + i * 3,
                len: 1,
            },
            &mut s,
        )
        .unwrap();
    }
    let mut buf = [0u8; BS];
    for i in 0..2000u64 {
        match extent_lookup(&io, 5, &root, i * 2, &mut buf).unwrap() {
            ExtentLookup::Mapped(e) => assert_eq!(e.physical, 10 + i * 3),
            x => panic!("{i}: {x:?}"),
        }
    }
    let mut d = DirRoot::empty(1);
    let seed = [7u8; 16];
    for i in 0..5000u64 {
        dir_insert(
            &mut io,
            9,
            &seed,
            &mut d,
            format!("file{i}").as_bytes(),
            i + 2,
            FT_REG,
            &mut s,
        )
        .unwrap();
    }
    for i in 0..5000u64 {
        let e = dir_lookup(&io, 9, &seed, &d, format!("file{i}").as_bytes(), &mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(e.ino, i + 2);
    }
    for i in 0..5000u64 {
        dir_remove(
            &mut io,
            9,
            &seed,
            &mut d,
            format!("file{i}").as_bytes(),
            &mut s,
        )
        .unwrap();
    }
    assert_eq!(d.tree.blk, 0);
}
