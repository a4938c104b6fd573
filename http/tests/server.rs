//! The server loop against raw green clients, each test under a deadline.
use http::{ClientConn, Headers, Server, ServerConfig};
use hub::run_within as within;
use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

type Log = Rc<RefCell<Vec<(String, u16, u64)>>>;

/// Starts a server whose handler echoes the request body (with the method
/// and target in headers), and returns its address and access log.
fn echo_server(cfg: ServerConfig) -> (SocketAddr, Log) {
    let l = hub::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = l.local_addr().unwrap();
    let log: Log = Rc::new(RefCell::new(Vec::new()));
    let log2 = log.clone();
    let server = Server::new(cfg, |req, resp| {
        if req.target() == "/reject" {
            return resp.send(413, &Headers::new(), b"too big\n");
        }
        if req.target() == "/stream" {
            resp.start(200, &Headers::new(), None)?;
            for i in 0..3 {
                write!(resp, "part{i};")?;
            }
            return Ok(());
        }
        if req.target() == "/start-then-fail" {
            resp.start(200, &Headers::new(), Some(10))?;
            return Err(std::io::Error::other("the body's source failed"));
        }
        if req.target() == "/small" {
            resp.start(200, &Headers::new(), Some(5))?;
            resp.write_all(b"small")?;
            return resp.finish();
        }
        if req.target() == "/slow" {
            SLOW.with(|s| {
                s.began.set(s.began.get() + 1);
                s.changed.set();
            });
            hub::sleep(Duration::from_millis(200))?;
        }
        let mut body = Vec::new();
        req.body.read_to_end(&mut body)?;
        let mut h = Headers::new();
        h.set("X-Method", req.method());
        h.set("X-Target", req.target());
        resp.send(200, &h, &body)
    })
    .access_log(move |r| log2.borrow_mut().push((r.target.to_string(), r.status, r.bytes_in)));
    hub::spawn(move || server.serve(l).unwrap());
    (addr, log)
}

/// `/slow` requests whose handler began on this thread's hub: what the
/// tests wait for, instead of sleeping.
struct Slow {
    began: std::cell::Cell<usize>,
    changed: hub::Event,
}

thread_local! {
    static SLOW: Slow = Slow { began: std::cell::Cell::new(0), changed: hub::Event::new() };
}

/// Waits until `n` `/slow` requests are being processed.
fn wait_slow_began(n: usize) {
    while SLOW.with(|s| s.began.get()) < n {
        SLOW.with(|s| {
            s.changed.clear();
            s.changed.wait()
        })
        .unwrap();
    }
}

fn connect(addr: SocketAddr) -> hub::TcpStream {
    let s = hub::TcpStream::connect(addr, Some(Duration::from_secs(2))).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5)));
    s
}

/// Reads everything until the server closes.
fn read_to_close(s: &mut hub::TcpStream) -> String {
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads until `n` complete responses with Content-Length bodies arrived.
fn read_responses(s: &mut hub::TcpStream, n: usize) -> Vec<(u16, String)> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    while out.len() < n {
        if let Ok(Some((h, used))) = http::head::parse_response_head(&buf) {
            let len: usize = h.headers.get("content-length").unwrap().parse().unwrap();
            if buf.len() >= used + len {
                out.push((h.status, String::from_utf8_lossy(&buf[used..used + len]).into_owned()));
                buf.drain(..used + len);
                continue;
            }
        }
        let k = s.read(&mut chunk).unwrap();
        assert!(k > 0, "server closed early; have {out:?}");
        buf.extend_from_slice(&chunk[..k]);
    }
    out
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    within(10, || {
        let (addr, log) = echo_server(ServerConfig::default());
        let mut s = connect(addr);
        for i in 0..3 {
            write!(s, "POST /o{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").unwrap();
            assert_eq!(read_responses(&mut s, 1), vec![(200, "hello".to_string())]);
        }
        assert_eq!(log.borrow().len(), 3);
        assert_eq!(log.borrow()[2], ("/o2".to_string(), 200, 5));
    });
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let mut s = connect(addr);
        s.write_all(b"PUT /a HTTP/1.1\r\nContent-Length: 1\r\n\r\naPUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nbb\r\n0\r\n\r\nGET /c HTTP/1.1\r\n\r\n").unwrap();
        let r = read_responses(&mut s, 3);
        assert_eq!(r, vec![(200, "a".into()), (200, "bb".into()), (200, "".into())]);
    });
}

#[test]
fn chunked_request_bodies_are_decoded() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let mut s = connect(addr);
        s.write_all(b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n").unwrap();
        assert_eq!(read_responses(&mut s, 1), vec![(200, "hello world".into())]);
    });
}

#[test]
fn expect_100_continue_is_answered_on_the_first_body_read() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let mut s = connect(addr);
        s.write_all(b"PUT /x HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n").unwrap();
        let mut b = [0u8; 25];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"HTTP/1.1 100 Continue\r\n\r\n");
        s.write_all(b"abc").unwrap();
        assert_eq!(read_responses(&mut s, 1), vec![(200, "abc".into())]);
    });
}

#[test]
fn a_handler_that_rejects_without_reading_sends_no_100_and_closes() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let mut s = connect(addr);
        s.write_all(b"PUT /reject HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n").unwrap();
        let all = read_to_close(&mut s);
        assert!(all.starts_with("HTTP/1.1 413 "), "{all}");
        assert!(!all.contains("100 Continue"));
        assert!(all.contains("Connection: close"));
    });
}

#[test]
fn smuggling_and_malformed_heads_get_their_status_and_close() {
    let cases: &[(&[u8], &str)] = &[
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "400"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "501"),
        (b"GARBAGE\r\n\r\n", "400"),
        (b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400"),
        (b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX", "400"),
    ];
    for (req, status) in cases {
        let req = req.to_vec();
        let status = status.to_string();
        within(10, move || {
            let (addr, _) = echo_server(ServerConfig::default());
            let mut s = connect(addr);
            s.write_all(&req).unwrap();
            let all = read_to_close(&mut s);
            assert!(all.starts_with(&format!("HTTP/1.1 {status} ")), "{:?} -> {all}", String::from_utf8_lossy(&req));
        });
    }
}

/// The status of the answer to a request head (the server closes after it).
fn status_of(addr: SocketAddr, head: &str) -> u16 {
    let mut s = connect(addr);
    s.write_all(head.as_bytes()).unwrap();
    let all = read_to_close(&mut s);
    all.get(9..12).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no status in {all:?}"))
}

#[test]
fn oversized_heads_get_swifts_statuses() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let long = "a".repeat(9000);
        assert_eq!(status_of(addr, &format!("GET /{long} HTTP/1.1\r\n\r\n")), 414);
        // One header line too long: eventlet's 400 (Swift's test_invalid_acls).
        assert_eq!(status_of(addr, &format!("GET / HTTP/1.1\r\nX-Acl: {long}\r\n\r\n")), 400);
        // Header block over 64 KiB in lines of 4 KiB: 400.
        let lines: String = (0..17).map(|i| format!("X-H{i}: {}\r\n", "v".repeat(4000))).collect();
        assert_eq!(status_of(addr, &format!("GET / HTTP/1.1\r\n{lines}\r\n")), 400);
        // 190 metadata headers reach the handler (Swift's proxy then answers
        // 400 "Too many metadata items"); 201 headers are 431.
        let meta = |n: usize| -> String { (0..n).map(|i| format!("X-Object-Meta-{i}: v\r\n")).collect() };
        let head = format!("GET / HTTP/1.1\r\nConnection: close\r\n{}\r\n", meta(190));
        assert_eq!(status_of(addr, &head), 200);
        assert_eq!(status_of(addr, &format!("GET / HTTP/1.1\r\n{}\r\n", meta(201))), 431);
    });
}

#[test]
fn a_head_sent_a_byte_at_a_time_is_served() {
    within(20, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let mut s = connect(addr);
        s.set_nodelay(true).unwrap();
        let head = format!("POST /slow-bytes HTTP/1.1\r\nX-Long: {}\r\nContent-Length: 2\r\n\r\nok", "v".repeat(3000));
        for b in head.as_bytes() {
            s.write_all(&[*b]).unwrap();
            hub::yield_now();
        }
        assert_eq!(read_responses(&mut s, 1), vec![(200, "ok".to_string())]);
        // A line that can no longer end in time is refused before it ends.
        let mut s = connect(addr);
        s.write_all(b"GET / HTTP/1.1\r\nX: ").unwrap();
        for _ in 0..9000 {
            if s.write_all(b"v").is_err() {
                break;
            }
        }
        assert!(read_to_close(&mut s).starts_with("HTTP/1.1 400 "));
    });
}

#[test]
fn a_kept_connection_says_keep_alive_to_clients_that_asked() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let connection_of = |head: &str| {
            let mut s = connect(addr);
            s.write_all(format!("{head}GET /x HTTP/1.1\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
            let all = read_to_close(&mut s);
            let first = all.split("\r\n\r\n").next().unwrap().to_string();
            first.lines().filter_map(|l| l.strip_prefix("Connection: ")).map(str::to_string).collect::<Vec<_>>()
        };
        // As eventlet: echoed only to a client that asked (HTTP/1.0 needs it).
        assert_eq!(connection_of("GET /a HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"), ["keep-alive"]);
        assert_eq!(connection_of("GET /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), ["keep-alive"]);
        assert!(connection_of("GET /a HTTP/1.1\r\n\r\n").is_empty());
        assert_eq!(connection_of("GET /a HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n"), ["close"]);
    });
}

#[test]
fn every_response_carries_a_date() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let mut s = connect(addr);
        s.write_all(b"GET /stream HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        let all = read_to_close(&mut s);
        let dates: Vec<&str> = all.lines().filter_map(|l| l.strip_prefix("Date: ")).collect();
        assert_eq!(dates.len(), 2, "{all}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        for d in dates {
            let secs = http::date::parse_http_date(d).unwrap();
            assert!(now.abs_diff(secs) <= 2, "{d}");
        }
        // Error answers of the server loop too.
        let mut s = connect(addr);
        s.write_all(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n").unwrap();
        let all = read_to_close(&mut s);
        assert!(all.starts_with("HTTP/1.1 400 ") && all.contains("\r\nDate: "), "{all}");
    });
}

#[test]
fn slowloris_is_cut_off_at_the_head_deadline_with_408() {
    within(20, || {
        let cfg = ServerConfig { header_timeout: Duration::from_millis(1500), ..Default::default() };
        let (addr, _) = echo_server(cfg);
        let s = connect(addr);
        let t = Instant::now();
        let writer = {
            let s = Rc::new(s);
            let s2 = s.clone();
            let w = hub::spawn(move || {
                // One byte every 300 ms, never finishing the head.
                for b in b"GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
                    if (&*s2).write_all(&[*b]).is_err() {
                        break;
                    }
                    if hub::sleep(Duration::from_millis(300)).is_err() {
                        break;
                    }
                }
            });
            let mut out = Vec::new();
            let _ = (&*s).read_to_end(&mut out);
            w.kill();
            String::from_utf8_lossy(&out).into_owned()
        };
        assert!(writer.starts_with("HTTP/1.1 408 "), "{writer}");
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(1400) && took < Duration::from_secs(10), "{took:?}");
    });
}

#[test]
fn a_stalled_body_gets_408_after_client_timeout() {
    within(10, || {
        let cfg = ServerConfig { client_timeout: Duration::from_millis(200), ..Default::default() };
        let (addr, log) = echo_server(cfg);
        let mut s = connect(addr);
        s.write_all(b"PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").unwrap();
        let all = read_to_close(&mut s);
        assert!(all.starts_with("HTTP/1.1 408 "), "{all}");
        assert_eq!(log.borrow()[0].1, 408);
    });
}

#[test]
fn a_client_that_disconnects_mid_body_is_logged_499() {
    within(10, || {
        let (addr, log) = echo_server(ServerConfig::default());
        {
            let mut s = connect(addr);
            s.write_all(b"PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").unwrap();
        }
        for _ in 0..100 {
            if !log.borrow().is_empty() {
                break;
            }
            hub::sleep(Duration::from_millis(10)).unwrap();
        }
        assert_eq!(log.borrow()[0], ("/x".to_string(), 499, 3));
    });
}

#[test]
fn a_started_response_goes_out_with_its_body_or_before_the_close() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let mut s = connect(addr);
        write!(s, "GET /small HTTP/1.1\r\n\r\nGET /small HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(read_responses(&mut s, 2), [(200, "small".to_string()), (200, "small".to_string())]);
        // The handler failed after start, before any body: the head the
        // handler started is still sent, then the connection closes.
        let mut s = connect(addr);
        write!(s, "GET /start-then-fail HTTP/1.1\r\n\r\n").unwrap();
        let got = read_to_close(&mut s);
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
        assert!(got.ends_with("\r\n\r\n") && got.contains("Content-Length: 10\r\n"), "{got}");
    });
}

#[test]
fn streamed_responses_are_chunked_and_head_has_no_body() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let mut c = ClientConn::connect(addr, Duration::from_secs(1)).unwrap();
        c.send_head("GET", "/stream", &Headers::new()).unwrap();
        let mut r = c.read_response("GET", Duration::from_secs(2)).unwrap();
        assert_eq!(r.header("transfer-encoding"), Some("chunked"));
        assert_eq!(r.read_all(1024).unwrap(), b"part0;part1;part2;");
        assert!(r.keep_alive);
        drop(r);
        let mut h = Headers::new();
        h.set("Content-Length", "0");
        c.send_head("HEAD", "/x", &h).unwrap();
        let mut r = c.read_response("HEAD", Duration::from_secs(2)).unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.read_all(10).unwrap(), b"");
    });
}

#[test]
fn client_put_with_100_continue_and_a_chunked_body() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let mut c = ClientConn::connect(addr, Duration::from_secs(1)).unwrap();
        let mut h = Headers::new();
        h.set("Transfer-Encoding", "chunked");
        h.set("Expect", "100-continue");
        c.send_head("PUT", "/obj", &h).unwrap();
        assert!(c.wait_continue(Duration::from_secs(2)).unwrap().is_none());
        for part in [&b"abc"[..], b"", b"defg"] {
            c.write_body(part).unwrap();
        }
        c.finish_body().unwrap();
        let mut r = c.read_response("PUT", Duration::from_secs(2)).unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.header("x-target"), Some("/obj"));
        assert_eq!(r.read_all(100).unwrap(), b"abcdefg");
    });
}

#[test]
fn client_sees_a_final_response_instead_of_100() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let mut c = ClientConn::connect(addr, Duration::from_secs(1)).unwrap();
        let mut h = Headers::new();
        h.set("Content-Length", "100");
        h.set("Expect", "100-continue");
        c.send_head("PUT", "/reject", &h).unwrap();
        let head = c.wait_continue(Duration::from_secs(2)).unwrap().expect("final response");
        assert_eq!(head.status, 413);
    });
}

#[test]
fn client_times_out_on_a_silent_server() {
    within(10, || {
        let l = hub::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr().unwrap();
        let _keep = hub::spawn(move || {
            let _c = l.accept();
            hub::sleep(Duration::from_secs(60))
        });
        let mut c = ClientConn::connect(addr, Duration::from_secs(1)).unwrap();
        c.send_head("GET", "/", &Headers::new()).unwrap();
        let t = Instant::now();
        let e = c.read_response("GET", Duration::from_millis(100)).err().unwrap();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(2));
    });
}

#[test]
fn stop_closes_idle_connections_and_lets_requests_in_flight_finish() {
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        let mut idle = connect(addr);
        write!(idle, "GET /warm HTTP/1.1\r\n\r\n").unwrap();
        read_responses(&mut idle, 1);
        let busy = hub::spawn(move || {
            let mut s = connect(addr);
            write!(s, "GET /slow HTTP/1.1\r\n\r\n").unwrap();
            read_to_close(&mut s)
        });
        wait_slow_began(1);
        hub::stop_event().set();
        // The idle connection is closed at once, the busy one answered.
        assert_eq!(read_to_close(&mut idle), "");
        let answer = busy.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        assert!(answer.contains("Connection: close"));
        assert!(hub::TcpStream::connect(addr, Some(Duration::from_secs(1))).is_err(), "listener closed");
    });
}

#[test]
fn max_clients_bounds_concurrent_connections() {
    within(10, || {
        let cfg = ServerConfig { max_clients: 2, ..Default::default() };
        let (addr, _) = echo_server(cfg);
        let slow: Vec<_> = (0..2)
            .map(|_| {
                hub::spawn(move || {
                    let mut s = connect(addr);
                    write!(s, "GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
                    read_to_close(&mut s)
                })
            })
            .collect();
        wait_slow_began(2);
        let t = Instant::now();
        let mut third = connect(addr);
        write!(third, "GET /fast HTTP/1.1\r\n\r\n").unwrap();
        read_responses(&mut third, 1);
        // It waited for a slot: the slow requests take 200 ms.
        assert!(t.elapsed() >= Duration::from_millis(100), "{:?}", t.elapsed());
        for h in slow {
            assert!(h.join().unwrap().starts_with("HTTP/1.1 200"));
        }
    });
}

#[test]
fn at_max_clients_a_kept_alive_connection_makes_room() {
    within(10, || {
        let cfg = ServerConfig { max_clients: 2, ..Default::default() };
        let (addr, _) = echo_server(cfg);
        // Two connections that served a request and wait for the next.
        let mut kept: Vec<hub::TcpStream> = (0..2).map(|_| connect(addr)).collect();
        for s in kept.iter_mut() {
            write!(s, "GET /a HTTP/1.1\r\n\r\n").unwrap();
            read_responses(s, 1);
        }
        let t = Instant::now();
        let mut third = connect(addr);
        write!(third, "GET /b HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(read_responses(&mut third, 1), [(200, String::new())]);
        assert!(t.elapsed() < Duration::from_secs(2), "served without waiting: {:?}", t.elapsed());
        // The one idle the longest was closed for it (before the third was
        // served); the other is open and quiet.
        assert!(closed(&kept[0]), "the first kept-alive connection was closed to make room");
        assert!(open_and_quiet(&kept[1]));
    });
}

/// True if the server closed `s` (end of stream; the close is already
/// there, or comes within the client's read timeout).
fn closed(s: &hub::TcpStream) -> bool {
    let mut r: &hub::TcpStream = s;
    matches!(r.read(&mut [0u8; 1]), Ok(0))
}

/// True if `s` is open and nothing came from the server, checked now,
/// without waiting.
fn open_and_quiet(s: &hub::TcpStream) -> bool {
    matches!(s.try_peek(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[test]
fn a_never_used_connection_is_closed_after_client_timeout_and_a_kept_alive_one_waits_keep_idle() {
    within(20, || {
        let client_timeout = Duration::from_millis(300);
        let cfg = ServerConfig { client_timeout, keepalive_timeout: Duration::from_secs(30), ..Default::default() };
        let (addr, _) = echo_server(cfg);
        // A kept-alive connection: idle from before the silent one below is
        // accepted (client and server share this hub, and the server parks
        // for the next request before this thread reads the answer).
        let mut kept = connect(addr);
        write!(kept, "GET /a HTTP/1.1\r\n\r\n").unwrap();
        read_responses(&mut kept, 1);
        // A connection that never sends a byte is closed after
        // client_timeout, not after keep_idle.
        let t = Instant::now();
        let silent = connect(addr);
        silent.set_read_timeout(Some(Duration::from_secs(10)));
        assert!(closed(&silent), "a never-used connection is closed (end of stream, not a read timeout)");
        let took = t.elapsed();
        assert!(took >= client_timeout - Duration::from_millis(20), "not before client_timeout: {took:?}");
        assert!(took < Duration::from_secs(5), "after client_timeout, not keep_idle: {took:?}");
        // The kept-alive one has been idle longer than client_timeout by
        // now, and still serves its next request.
        assert!(open_and_quiet(&kept));
        write!(kept, "GET /b HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(read_responses(&mut kept, 1), [(200, String::new())]);
    });
}

#[test]
fn at_max_clients_the_oldest_silent_connection_makes_room_for_a_real_client() {
    within(20, || {
        // Long timeouts: only making room can let the real client in.
        let cfg = ServerConfig { max_clients: 2, ..Default::default() };
        let (addr, _) = echo_server(cfg);
        let silent: Vec<hub::TcpStream> = (0..2).map(|_| connect(addr)).collect();
        let t = Instant::now();
        let mut real = connect(addr);
        write!(real, "GET /real HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(read_responses(&mut real, 1), [(200, String::new())]);
        assert!(t.elapsed() < Duration::from_secs(2), "served at once: {:?}", t.elapsed());
        // The older silent connection was closed for it, the younger one
        // was not.
        assert!(closed(&silent[0]));
        assert!(open_and_quiet(&silent[1]));
    });
}

#[test]
fn at_max_clients_a_head_still_trickling_in_makes_room_for_a_real_client() {
    within(20, || {
        let cfg = ServerConfig { max_clients: 1, ..Default::default() };
        let (addr, _) = echo_server(cfg);
        // A request, then the start of a second head that never ends: once
        // the first answer is here, the server is waiting for the rest of
        // that head (it read it with the first request).
        let mut slow = connect(addr);
        write!(slow, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nX-Slow: a").unwrap();
        assert_eq!(read_responses(&mut slow, 1), [(200, String::new())]);
        let t = Instant::now();
        let mut real = connect(addr);
        write!(real, "GET /real HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(read_responses(&mut real, 1), [(200, String::new())]);
        assert!(t.elapsed() < Duration::from_secs(2), "not after header_timeout: {:?}", t.elapsed());
        assert!(closed(&slow));
    });
}

#[test]
fn at_max_clients_kept_alive_connections_go_before_older_silent_ones() {
    within(20, || {
        let cfg = ServerConfig { max_clients: 2, ..Default::default() };
        let (addr, _) = echo_server(cfg);
        let silent = connect(addr);
        let mut kept = connect(addr);
        write!(kept, "GET /a HTTP/1.1\r\n\r\n").unwrap();
        read_responses(&mut kept, 1);
        let mut real = connect(addr);
        write!(real, "GET /real HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(read_responses(&mut real, 1), [(200, String::new())]);
        assert!(closed(&kept), "the kept-alive connection lost nothing by the close");
        assert!(open_and_quiet(&silent));
    });
}

#[test]
fn a_request_being_processed_is_never_closed_to_make_room_and_its_slot_goes_to_the_waiting_client() {
    within(20, || {
        let cfg = ServerConfig { max_clients: 1, ..Default::default() };
        let (addr, _) = echo_server(cfg);
        // The handler is running: it asked for the body (100 Continue) and
        // waits for it.
        let mut busy = connect(addr);
        busy.write_all(b"PUT /x HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n").unwrap();
        let mut b = [0u8; 25];
        busy.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"HTTP/1.1 100 Continue\r\n\r\n");
        // A newcomer must wait: the only connection is in a request.
        let mut waiting = connect(addr);
        write!(waiting, "GET /w HTTP/1.1\r\n\r\n").unwrap();
        // The request completes and its connection is kept alive; it then
        // makes room for the newcomer at once (not after keep_idle).
        busy.write_all(b"abc").unwrap();
        assert_eq!(read_responses(&mut busy, 1), [(200, "abc".to_string())]);
        let t = Instant::now();
        assert_eq!(read_responses(&mut waiting, 1), [(200, String::new())]);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(closed(&busy));
    });
}

#[test]
fn an_answer_sent_before_the_body_was_read_is_not_lost_to_a_reset() {
    // The handler refuses a 1 MiB upload without reading it, on a
    // connection that closes afterwards: the server must read the leftover
    // bytes before closing, or the client sees a reset instead of the 413.
    within(10, || {
        let (addr, _) = echo_server(ServerConfig::default());
        for _ in 0..20 {
            let s = Rc::new(connect(addr));
            let s2 = s.clone();
            let writer = hub::spawn(move || {
                let body = vec![b'x'; 1 << 20];
                let head =
                    format!("PUT /reject HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len());
                let _ = (&*s2).write_all(head.as_bytes());
                let _ = (&*s2).write_all(&body);
            });
            let mut out = Vec::new();
            (&*s).read_to_end(&mut out).expect("no reset");
            assert!(out.starts_with(b"HTTP/1.1 413 "), "{}", String::from_utf8_lossy(&out));
            writer.join().unwrap();
        }
    });
}
