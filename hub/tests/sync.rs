mod common;
use common::within;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

#[test]
fn event_wakes_every_waiter() {
    within(5, || {
        let ev = hub::Event::new();
        let hs: Vec<_> = (0..5)
            .map(|i| {
                let ev = ev.clone();
                hub::spawn(move || {
                    ev.wait().unwrap();
                    i
                })
            })
            .collect();
        hub::sleep(Duration::from_millis(2)).unwrap();
        assert!(hs.iter().all(|h| !h.is_finished()));
        ev.set();
        let sum: i32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 10);
    });
}

#[test]
fn queue_put_waits_while_full_and_get_while_empty() {
    within(5, || {
        let q = hub::Queue::new(2);
        let q2 = q.clone();
        let producer = hub::spawn(move || {
            for i in 0..10 {
                q2.put(i).unwrap();
            }
        });
        hub::sleep(Duration::from_millis(2)).unwrap();
        assert_eq!(q.len(), 2, "producer blocked at capacity");
        let got: Vec<i32> = (0..10).map(|_| q.get().unwrap()).collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        producer.join().unwrap();
        assert!(q.try_get().is_none());
        assert_eq!(
            hub::with_timeout(Duration::from_millis(5), || q.get()).unwrap_err().kind(),
            std::io::ErrorKind::TimedOut
        );
    });
}

#[test]
fn semaphore_bounds_concurrency() {
    within(5, || {
        let sem = hub::Semaphore::new(2);
        let inside = Rc::new(Cell::new(0));
        let max = Rc::new(Cell::new(0));
        let hs: Vec<_> = (0..6)
            .map(|_| {
                let (sem, inside, max) = (sem.clone(), inside.clone(), max.clone());
                hub::spawn(move || {
                    let _p = sem.acquire().unwrap();
                    inside.set(inside.get() + 1);
                    max.set(max.get().max(inside.get()));
                    hub::sleep(Duration::from_millis(2)).unwrap();
                    inside.set(inside.get() - 1);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(max.get(), 2);
        assert_eq!(sem.available(), 2);
    });
}

#[test]
fn green_pool_spawn_waits_while_full_and_wait_all_drains() {
    within(5, || {
        let pool = hub::GreenPool::new(3);
        let log = Rc::new(RefCell::new(Vec::new()));
        for i in 0..9 {
            let log = log.clone();
            pool.spawn(move || {
                hub::sleep(Duration::from_millis(3)).unwrap();
                log.borrow_mut().push(i);
            })
            .unwrap();
            assert!(pool.running() <= 3);
        }
        pool.wait_all().unwrap();
        assert_eq!(pool.running(), 0);
        assert_eq!(pool.free(), 3);
        assert_eq!(log.borrow().len(), 9);
    });
}

#[test]
fn green_pile_returns_results_in_spawn_order() {
    within(5, || {
        let mut pile = hub::GreenPile::new(4);
        for i in 0..8u64 {
            pile.spawn(move || {
                hub::sleep(Duration::from_millis(8 - i)).unwrap();
                i * 10
            })
            .unwrap();
        }
        let out: Vec<u64> = pile.map(|r| r.unwrap()).collect();
        assert_eq!(out, (0..8).map(|i| i * 10).collect::<Vec<_>>());
    });
}
