//! No byte string panics the reader: it returns an error naming the file.

use std::path::Path;

use proptest::prelude::*;

use crate::{ChecksumKind, Package, RpmError, read_package_from};

fn read_bytes(b: &[u8]) -> Result<Package, RpmError> {
    read_package_from(b, Path::new("bad.rpm"), ChecksumKind::Sha256, 0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_bytes(&b);
        let mut with_magic = vec![0xed, 0xab, 0xee, 0xdb];
        with_magic.resize(96, 0);
        with_magic.extend_from_slice(&[0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]);
        with_magic.extend_from_slice(&b);
        let _ = read_bytes(&with_magic);
    }
}
