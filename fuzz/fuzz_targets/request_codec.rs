//! Fuzzes the request codec: `parse_head` on any bytes, then the chunked
//! decoder on what follows a head, fed in pieces whose sizes the input
//! chooses. Neither may panic, and what they report must stay inside the
//! input (ranges in bounds, progress never past the end).
//!
//! Run: cargo +nightly fuzz run request_codec -- -max_total_time=60

#![no_main]

use evloop::http::codec::{ChunkedDecoder, Framing, Limits, parse_head};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&piece, bytes)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_request_line: 512,
        max_head: 2048,
        max_headers: 32,
        max_body: 1 << 16,
    };
    let head_len = match parse_head(bytes, &limits) {
        Ok(Some((head, len))) => {
            assert!(len <= bytes.len());
            assert!(head.bytes.len() == len);
            for (name, value) in head.headers() {
                assert!(name.end <= value.start && value.end <= len);
                let _ = (head.text(&name), head.text(&value));
            }
            let _ = (head.text(&head.method), head.text(&head.path));
            if head.framing != Framing::Chunked {
                return;
            }
            len
        }
        Ok(None) | Err(_) => return,
    };
    // Decode the rest in pieces of 1 + piece % 64 bytes, as reads would.
    let mut decoder = ChunkedDecoder::new(limits.max_body);
    let mut pending: Vec<u8> = Vec::new();
    for chunk in bytes[head_len..].chunks(1 + usize::from(piece % 64)) {
        pending.extend_from_slice(chunk);
        loop {
            match decoder.decode(&pending) {
                Err(_) => return,
                Ok(decoded) => {
                    assert!(decoded.consumed <= pending.len());
                    if let Some(data) = &decoded.data {
                        assert!(data.end <= decoded.consumed);
                    }
                    pending.drain(..decoded.consumed);
                    if decoder.is_done() || decoded.consumed == 0 || pending.is_empty() {
                        break;
                    }
                }
            }
        }
        if decoder.is_done() {
            return;
        }
    }
});
