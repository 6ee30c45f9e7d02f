#[test]
fn smoke() {
    let rt = evloop::Runtime::new().unwrap();
    let v = rt.block_on(async {
        let mut hs = Vec::new();
        for i in 0..1000u64 {
            hs.push(evloop::spawn(async move {
                evloop::yield_now().await;
                i
            }));
        }
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(v, 999 * 1000 / 2);
    let h = rt.handle();
    let j = std::thread::spawn(move || h.spawn(async { 5 }));
    let jh = j.join().unwrap();
    assert_eq!(rt.block_on(jh).unwrap(), 5);
}
