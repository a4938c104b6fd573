mod common;
use common::within;
use hub::JoinError;
use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

#[test]
fn join_returns_the_value() {
    assert_eq!(within(5, || hub::spawn(|| 6 * 7).join().unwrap()), 42);
}

#[test]
fn join_returns_the_captured_panic_and_the_hub_survives() {
    within(5, || {
        let h = hub::spawn(|| -> u32 { panic!("boom") });
        match h.join() {
            Err(JoinError::Panicked(p)) => assert_eq!(*p.downcast_ref::<&str>().unwrap(), "boom"),
            other => panic!("unexpected {other:?}"),
        }
        // The hub goes on.
        assert_eq!(hub::spawn(|| 1).join().unwrap(), 1);
    });
}

#[test]
fn spawn_does_not_need_send() {
    within(5, || {
        let shared = Rc::new(RefCell::new(Vec::new()));
        let s2 = shared.clone();
        hub::spawn(move || s2.borrow_mut().push(1)).join().unwrap();
        assert_eq!(*shared.borrow(), vec![1]);
    });
}

#[test]
fn yield_now_lets_others_run_in_fifo_order() {
    within(5, || {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut hs = Vec::new();
        for i in 0..3 {
            let log = log.clone();
            hs.push(hub::spawn(move || {
                log.borrow_mut().push((i, 0));
                hub::yield_now();
                log.borrow_mut().push((i, 1));
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*log.borrow(), vec![(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]);
    });
}

#[test]
fn sleep_waits_at_least_the_duration() {
    within(5, || {
        let t = std::time::Instant::now();
        hub::sleep(Duration::from_millis(30)).unwrap();
        assert!(t.elapsed() >= Duration::from_millis(30));
    });
}

#[test]
fn kill_before_start_never_runs_the_closure() {
    within(5, || {
        let ran = Rc::new(RefCell::new(false));
        let r2 = ran.clone();
        let h = hub::spawn(move || *r2.borrow_mut() = true);
        h.kill();
        assert!(!*ran.borrow());
        assert!(matches!(h.join(), Err(JoinError::Killed)));
    });
}

#[test]
fn kill_of_a_finished_thread_is_a_no_op() {
    within(5, || {
        let h = hub::spawn(|| 5);
        hub::sleep(Duration::from_millis(1)).unwrap();
        h.kill();
        assert_eq!(h.join().unwrap(), 5);
    });
}

#[test]
fn stacks_are_reused() {
    within(5, || {
        for _ in 0..1000 {
            hub::spawn(|| ()).join().unwrap();
        }
        // One stack went round and round (plus the main thread's, in use).
        assert!(hub::stats::pooled_stacks() <= 2, "pooled {}", hub::stats::pooled_stacks());
    });
}

#[test]
fn threads_left_when_main_returns_are_killed() {
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d2 = dropped.clone();
    within(5, move || {
        struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        hub::spawn(move || {
            let _f = Flag(d2);
            hub::sleep(Duration::from_secs(3600)).unwrap();
        });
        hub::sleep(Duration::from_millis(1)).unwrap();
    });
    assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
}

#[test]
fn ten_thousand_green_threads_each_holding_a_socket() {
    hub::raise_fd_limit().unwrap();
    let cfg = hub::Config { stack_size: 64 * 1024, ..Default::default() };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let n = hub::run_with(cfg, || {
            let l = hub::TcpListener::bind_with("127.0.0.1:0".parse().unwrap(), 4096, false).unwrap();
            let addr = l.local_addr().unwrap();
            const PAIRS: usize = 5000;
            let acceptor = hub::spawn(move || {
                let mut servers = Vec::new();
                for _ in 0..PAIRS {
                    let (mut s, _) = l.accept().unwrap();
                    servers.push(hub::spawn(move || {
                        let mut b = [0u8; 4];
                        s.read_exact(&mut b).unwrap();
                        s.write_all(&b).unwrap();
                        1usize
                    }));
                }
                servers
            });
            let gate = hub::Event::new();
            let mut clients = Vec::new();
            for i in 0..PAIRS {
                let gate = gate.clone();
                clients.push(hub::spawn(move || {
                    let mut c = hub::TcpStream::connect(addr, Some(Duration::from_secs(10))).unwrap();
                    gate.wait().unwrap(); // all 10,000 sockets open at once
                    c.write_all(&(i as u32).to_be_bytes()).unwrap();
                    let mut b = [0u8; 4];
                    c.read_exact(&mut b).unwrap();
                    assert_eq!(u32::from_be_bytes(b), i as u32);
                    1usize
                }));
            }
            let servers = acceptor.join().unwrap();
            assert!(hub::stats::live_green_threads() > 2 * PAIRS);
            gate.set();
            let mut n = 0;
            for h in clients.into_iter().chain(servers) {
                n += h.join().unwrap();
            }
            n
        });
        let _ = tx.send(n);
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)).expect("deadline"), 10_000);
}
