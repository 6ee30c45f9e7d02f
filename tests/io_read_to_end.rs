//! `read_to_end`: uses the spare capacity it is given before growing the
//! buffer, grows it geometrically when it must, and reads everything.

use evloop::io::AsyncReadExt;
use futures::io::Cursor;

#[test]
fn read_to_end_uses_spare_capacity_before_growing() {
    evloop::block_on(async {
        let mut reader = Cursor::new(vec![7u8; 10]);
        let mut buf = Vec::with_capacity(32);
        assert_eq!(reader.read_to_end(&mut buf).await.expect("read"), 10);
        assert_eq!(buf, [7u8; 10]);
        assert_eq!(buf.capacity(), 32, "ten bytes fit: no growth to 8 KiB");
    });
}

#[test]
fn an_exactly_sized_buffer_is_not_grown_at_end_of_stream() {
    evloop::block_on(async {
        let mut reader = Cursor::new(vec![1u8; 16]);
        let mut buf = Vec::with_capacity(16);
        assert_eq!(reader.read_to_end(&mut buf).await.expect("read"), 16);
        assert_eq!(buf.len(), 16);
        assert_eq!(
            buf.capacity(),
            16,
            "the end of stream is probed, not grown into"
        );
    });
}

#[test]
fn a_large_stream_is_read_whole_after_existing_data() {
    evloop::block_on(async {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut reader = Cursor::new(data.clone());
        let mut buf = b"head".to_vec();
        let n = reader.read_to_end(&mut buf).await.expect("read");
        assert_eq!(n, data.len());
        assert_eq!(&buf[..4], b"head");
        assert_eq!(&buf[4..], &data[..]);
        assert!(
            buf.capacity() < 2 * buf.len() + 64,
            "grown geometrically, not wildly"
        );
    });
}
