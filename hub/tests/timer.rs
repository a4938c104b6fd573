mod common;
use common::within;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

#[test]
fn timers_fire_in_due_order() {
    within(5, || {
        let log = Rc::new(RefCell::new(Vec::new()));
        for (i, ms) in [(1, 30), (2, 10), (3, 20)] {
            let log = log.clone();
            hub::call_later(Duration::from_millis(ms), move || log.borrow_mut().push(i));
        }
        hub::sleep(Duration::from_millis(60)).unwrap();
        assert_eq!(*log.borrow(), vec![2, 3, 1]);
    });
}

#[test]
fn a_cancelled_timer_never_fires() {
    within(5, || {
        let fired = Rc::new(RefCell::new(false));
        let f2 = fired.clone();
        let t = hub::call_later(Duration::from_millis(10), move || *f2.borrow_mut() = true);
        t.cancel();
        hub::sleep(Duration::from_millis(30)).unwrap();
        assert!(!*fired.borrow());
        assert_eq!(hub::stats::pending_timers(), 0);
    });
}

#[test]
fn a_timer_added_while_timers_fire_waits_for_the_next_pass() {
    // eventlet's rule: a zero-delay timer scheduled from a firing timer
    // runs on the next pass, after the green threads made ready meanwhile.
    within(5, || {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l1 = log.clone();
        let ev = hub::Event::new();
        let ev2 = ev.clone();
        hub::call_later(Duration::from_millis(5), move || {
            l1.borrow_mut().push("first timer");
            let l2 = l1.clone();
            hub::call_later(Duration::ZERO, move || l2.borrow_mut().push("timer added while firing"));
            ev2.set(); // makes the waiter below runnable in this same pass
        });
        let l3 = log.clone();
        let w = hub::spawn(move || {
            ev.wait().unwrap();
            l3.borrow_mut().push("woken green thread");
        });
        w.join().unwrap();
        hub::sleep(Duration::from_millis(5)).unwrap();
        assert_eq!(*log.borrow(), vec!["first timer", "woken green thread", "timer added while firing"]);
    });
}

#[test]
fn a_timer_callback_may_spawn() {
    within(5, || {
        let ev = hub::Event::new();
        let ev2 = ev.clone();
        hub::call_later(Duration::from_millis(1), move || {
            hub::spawn(move || ev2.set());
        });
        ev.wait().unwrap();
    });
}
