//! Tests that count this process's open fds: they hold one lock so that
//! no two of them run at once (other test binaries are other processes).
mod common;
use common::{tcp_pair, within};
use hub::JoinError;
use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

static FDS: Mutex<()> = Mutex::new(());

struct SetOnDrop(Rc<RefCell<bool>>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        *self.0.borrow_mut() = true;
    }
}

#[test]
fn kill_unwinds_a_parked_thread_and_frees_its_fds_and_stack() {
    let _l = FDS.lock().unwrap_or_else(|e| e.into_inner());
    within(5, || {
        let before_fds = hub::open_fd_count().unwrap();
        let dropped = Rc::new(RefCell::new(false));
        let d2 = dropped.clone();
        let h = hub::spawn(move || {
            let _guard = SetOnDrop(d2);
            let (mut a, _b) = tcp_pair();
            let mut buf = [0u8; 1];
            let _ = a.read(&mut buf); // parks forever: nobody writes
            unreachable!("killed threads do not come back");
        });
        hub::sleep(Duration::from_millis(10)).unwrap();
        assert!(hub::open_fd_count().unwrap() >= before_fds + 2);
        let live = hub::stats::live_green_threads();
        let pooled = hub::stats::pooled_stacks();
        h.kill();
        assert!(*dropped.borrow(), "destructors ran");
        assert_eq!(hub::open_fd_count().unwrap(), before_fds, "sockets closed");
        assert_eq!(hub::stats::live_green_threads(), live - 1);
        assert_eq!(hub::stats::pooled_stacks(), pooled + 1, "stack back in the pool");
        assert!(matches!(h.join(), Err(JoinError::Killed)));
    });
}

#[test]
fn a_panic_frees_the_threads_sockets() {
    let _l = FDS.lock().unwrap_or_else(|e| e.into_inner());
    within(5, || {
        let before = hub::open_fd_count().unwrap();
        let h = hub::spawn(|| {
            let _pair = tcp_pair();
            panic!("after opening sockets");
        });
        assert!(h.join().is_err());
        assert_eq!(hub::open_fd_count().unwrap(), before);
    });
}
