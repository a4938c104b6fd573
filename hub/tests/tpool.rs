mod common;
use common::within;
use std::time::Duration;

#[test]
fn execute_returns_the_closures_value() {
    assert_eq!(within(5, || hub::tpool::execute(|| 2 + 2)), 4);
}

#[test]
fn the_hub_keeps_serving_during_a_blocking_call() {
    within(5, || {
        let ticks = std::rc::Rc::new(std::cell::Cell::new(0));
        let t2 = ticks.clone();
        let ticker = hub::spawn(move || loop {
            hub::sleep(Duration::from_millis(5)).unwrap();
            t2.set(t2.get() + 1);
        });
        hub::tpool::execute(|| std::thread::sleep(Duration::from_millis(100)));
        assert!(ticks.get() >= 5, "only {} ticks", ticks.get());
        ticker.kill();
    });
}

#[test]
fn many_calls_in_parallel_all_come_back() {
    within(10, || {
        let hs: Vec<_> = (0..100u64).map(|i| hub::spawn(move || hub::tpool::execute(move || i * 2))).collect();
        let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 2 * (0..100).sum::<u64>());
    });
}

#[test]
fn a_panic_in_the_pool_reaches_the_caller() {
    within(5, || {
        let h = hub::spawn(|| hub::tpool::execute(|| -> u8 { panic!("in pool") }));
        assert!(matches!(h.join(), Err(hub::JoinError::Panicked(_))));
    });
}
