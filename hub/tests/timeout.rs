mod common;
use common::{tcp_pair, within};
use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

#[test]
fn a_park_past_the_deadline_returns_timed_out() {
    within(5, || {
        let ev = hub::Event::new();
        let t = Instant::now();
        let r = hub::with_timeout(Duration::from_millis(20), || ev.wait());
        assert_eq!(r.unwrap_err().kind(), ErrorKind::TimedOut);
        assert!(t.elapsed() >= Duration::from_millis(20));
        assert!(t.elapsed() < Duration::from_secs(2));
    });
}

#[test]
fn no_timer_is_armed_unless_the_thread_parks() {
    within(5, || {
        let _t = hub::Timeout::new(Duration::from_secs(10));
        let ev = hub::Event::new();
        ev.set();
        ev.wait().unwrap(); // does not park
        assert_eq!(hub::stats::pending_timers(), 0);
        let q = hub::Queue::new(1);
        q.put(1).unwrap();
        assert_eq!(q.get().unwrap(), 1);
        assert_eq!(hub::stats::pending_timers(), 0);
    });
}

#[test]
fn the_timer_is_disarmed_when_the_thread_wakes_early() {
    within(5, || {
        let ev = hub::Event::new();
        let ev2 = ev.clone();
        hub::spawn(move || ev2.set());
        let _t = hub::Timeout::new(Duration::from_secs(10));
        ev.wait().unwrap();
        assert_eq!(hub::stats::pending_timers(), 0);
    });
}

#[test]
fn an_expired_deadline_fails_the_next_park_at_once() {
    within(5, || {
        let t = hub::Timeout::new(Duration::from_millis(5));
        std::thread::sleep(Duration::from_millis(10)); // burn the deadline without parking
        assert!(t.expired());
        let r = hub::Event::new().wait();
        assert_eq!(r.unwrap_err().kind(), ErrorKind::TimedOut);
        assert_eq!(hub::stats::pending_timers(), 0);
    });
}

#[test]
fn nested_timeouts_use_the_earliest_and_lift_on_drop() {
    within(5, || {
        let outer = hub::Timeout::new(Duration::from_millis(20));
        {
            let _inner = hub::Timeout::new(Duration::from_secs(60));
            let t = Instant::now();
            assert_eq!(hub::sleep(Duration::from_secs(5)).unwrap_err().kind(), ErrorKind::TimedOut);
            assert!(t.elapsed() < Duration::from_secs(2));
        }
        drop(outer);
        hub::sleep(Duration::from_millis(5)).unwrap();
    });
}

#[test]
fn a_socket_read_times_out() {
    within(5, || {
        let (mut a, _b) = tcp_pair();
        let r = hub::with_timeout(Duration::from_millis(20), || a.read(&mut [0u8; 8]));
        assert_eq!(r.unwrap_err().kind(), ErrorKind::TimedOut);
        a.set_read_timeout(Some(Duration::from_millis(20)));
        assert_eq!(a.read(&mut [0u8; 8]).unwrap_err().kind(), ErrorKind::TimedOut);
    });
}

#[test]
fn join_times_out_and_leaves_the_thread_running() {
    within(5, || {
        let done = hub::Event::new();
        let d2 = done.clone();
        let h = hub::spawn(move || {
            hub::sleep(Duration::from_millis(30)).unwrap();
            d2.set();
        });
        let r = hub::with_timeout(Duration::from_millis(5), || Ok(h.join()));
        assert!(matches!(r, Ok(Err(hub::JoinError::TimedOut))));
        done.wait().unwrap();
    });
}
