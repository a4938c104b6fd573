mod common;
use common::{tcp_pair, within};
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

#[test]
fn echo_over_green_sockets() {
    within(5, || {
        let l = hub::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr().unwrap();
        let server = hub::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.set_nodelay(true).unwrap();
            let mut buf = vec![0u8; 1 << 20];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        });
        let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        // Writer and reader in two green threads over one socket (1 MiB
        // does not fit the socket buffers, so both sides must interleave).
        let c = std::rc::Rc::new(hub::TcpStream::connect(addr, Some(Duration::from_secs(1))).unwrap());
        let c2 = c.clone();
        let d2 = data.clone();
        let w = hub::spawn(move || (&*c2).write_all(&d2).unwrap());
        let mut back = vec![0u8; data.len()];
        (&*c).read_exact(&mut back).unwrap();
        w.join().unwrap();
        server.join().unwrap();
        assert!(back == data);
    });
}

/// 200 times: a read finds nothing (EAGAIN), then data arrives before
/// the park, and `park` must still be woken by that edge.
fn edge_between_eagain_and_park_wakes(a: &hub::TcpStream, b: &hub::TcpStream, park: fn(&hub::TcpStream)) {
    let mut buf = [0u8; 16];
    for i in 0..200u8 {
        assert_eq!(a.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        (&*b).write_all(&[i]).unwrap();
        park(a);
        assert_eq!(a.try_read(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], i);
    }
}

#[test]
fn no_wakeup_is_lost_between_eagain_and_parking() {
    within(5, || {
        let (a, b) = tcp_pair();
        edge_between_eagain_and_park_wakes(&a, &b, |a| a.readable().unwrap());
    });
}

#[test]
fn wait_readable_right_after_eagain_loses_no_wakeup_and_times_out() {
    within(5, || {
        let (a, b) = tcp_pair();
        edge_between_eagain_and_park_wakes(&a, &b, |a| a.wait_readable().unwrap());
        let mut buf = [0u8; 16];
        // Nothing comes: the read timeout ends the wait.
        a.set_read_timeout(Some(Duration::from_millis(50)));
        assert_eq!(a.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        let t = Instant::now();
        assert_eq!(a.wait_readable().unwrap_err().kind(), ErrorKind::TimedOut);
        assert!(t.elapsed() >= Duration::from_millis(50));
    });
}

#[test]
fn no_wakeup_is_lost_against_another_os_thread() {
    // A peer on a plain OS thread answers at arbitrary moments, so its
    // writes race with the green reader's EAGAIN and park.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut b = [0u8; 1];
        while s.read_exact(&mut b).is_ok() {
            s.write_all(&b).unwrap();
        }
    });
    within(20, move || {
        let mut c = hub::TcpStream::connect(addr, Some(Duration::from_secs(1))).unwrap();
        for i in 0..20_000u32 {
            c.write_all(&[i as u8]).unwrap();
            let mut b = [0u8; 1];
            c.read_exact(&mut b).unwrap();
            assert_eq!(b[0], i as u8);
        }
    });
    peer.join().unwrap();
}

#[test]
fn two_green_threads_cannot_wait_to_read_one_socket() {
    within(5, || {
        let (a, _b) = tcp_pair();
        let a = std::rc::Rc::new(a);
        let a2 = a.clone();
        let first = hub::spawn(move || a2.readable());
        hub::yield_now();
        let err = a.readable().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Other);
        first.kill();
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    within(5, || {
        let port = {
            let l = hub::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            l.local_addr().unwrap().port()
        };
        let r = hub::TcpStream::connect(format!("127.0.0.1:{port}").parse().unwrap(), Some(Duration::from_secs(1)));
        assert_eq!(r.err().unwrap().kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn connect_times_out_when_the_backlog_is_full() {
    within(10, || {
        // backlog 0: the kernel queues one connection, then drops SYNs.
        let l = hub::TcpListener::bind_with("127.0.0.1:0".parse().unwrap(), 0, false).unwrap();
        let addr = l.local_addr().unwrap();
        let mut held = Vec::new();
        let t = Instant::now();
        loop {
            match hub::TcpStream::connect(addr, Some(Duration::from_millis(100))) {
                Ok(s) => held.push(s),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::TimedOut);
                    break;
                }
            }
            assert!(held.len() < 64, "backlog never filled");
        }
        assert!(t.elapsed() >= Duration::from_millis(100));
    });
}

#[test]
fn reuseport_listeners_share_a_port() {
    within(5, || {
        let a = hub::TcpListener::bind_with("127.0.0.1:0".parse().unwrap(), 16, true).unwrap();
        let addr = a.local_addr().unwrap();
        let b = hub::TcpListener::bind_with(addr, 16, true).unwrap();
        assert_eq!(b.local_addr().unwrap(), addr);
        assert!(hub::TcpListener::bind_with(addr, 16, false).is_err());
    });
}

#[test]
fn unix_datagram_to_an_abstract_address() {
    within(5, || {
        let name = format!("@swiftlet-test-{}", std::process::id());
        let rx = hub::UnixDatagram::bind(&name).unwrap();
        let r = hub::spawn(move || {
            let mut buf = [0u8; 64];
            let n = rx.recv(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        hub::yield_now();
        hub::UnixDatagram::unbound().unwrap().send_to(b"READY=1", &name).unwrap();
        assert_eq!(r.join().unwrap(), b"READY=1");
    });
}
