//! Small helpers: UTC timestamps as DigitalOcean writes them, a seeded random number generator,
//! and the loopback addresses and shared port the simulated hosts live on.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Now as `2020-07-21T18:37:44Z`.
pub(crate) fn now_iso() -> String {
    iso(unix_now())
}

/// `secs` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, Howard Hinnant).
pub(crate) fn iso(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// splitmix64: small, seeded, good enough to decide which requests get a fault.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `p` (clamped to 0..=1).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// Simulators started by this process, so that two in one test binary take different
/// `127.S.0.0/16` blocks.
static STARTED: AtomicU32 = AtomicU32::new(0);

/// The second octet of a new simulator's block: 16..=239, varied by process and by simulator.
pub(crate) fn pick_block() -> u8 {
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    let salt = std::process::id().wrapping_mul(2_654_435_761) ^ (unix_now() as u32);
    (16 + (salt.wrapping_add(n.wrapping_mul(37)) % 224)) as u8
}

/// What kind of host an address is for; each kind has its own part of the block so that
/// addresses read well in a demo: droplets `127.S.10+.x`, load balancers `127.S.2.x`,
/// reserved IPs `127.S.3.x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostKind {
    Droplet,
    LoadBalancer,
    ReservedIp,
}

/// Hands out loopback addresses in one `127.S.0.0/16` block.
#[derive(Debug)]
pub(crate) struct AddrAlloc {
    block: u8,
    next_droplet: u32,
    next_lb: u32,
    next_ip: u32,
}

impl AddrAlloc {
    pub(crate) fn new(block: u8) -> Self {
        AddrAlloc {
            block,
            next_droplet: 0,
            next_lb: 0,
            next_ip: 0,
        }
    }

    /// The next address of `kind`, or `None` when that part of the block is used up.
    pub(crate) fn next(&mut self, kind: HostKind) -> Option<Ipv4Addr> {
        let (counter, third_base, span) = match kind {
            HostKind::Droplet => (&mut self.next_droplet, 10u32, 240u32),
            HostKind::LoadBalancer => (&mut self.next_lb, 2, 1),
            HostKind::ReservedIp => (&mut self.next_ip, 3, 1),
        };
        let n = *counter;
        if n >= span * 250 {
            return None;
        }
        *counter += 1;
        let third = third_base + n / 250;
        let fourth = 1 + n % 250;
        Some(Ipv4Addr::new(127, self.block, third as u8, fourth as u8))
    }
}

/// Bind every address in `addrs` on one port, free on all of them; retries with another port
/// when one of them is taken.
pub(crate) async fn bind_common(addrs: &[Ipv4Addr]) -> io::Result<(u16, Vec<TcpListener>)> {
    let mut last_err = None;
    for _ in 0..32 {
        let first = TcpListener::bind(SocketAddr::from((addrs[0], 0))).await?;
        let port = first.local_addr()?.port();
        let mut all = vec![first];
        let mut ok = true;
        for a in &addrs[1..] {
            match TcpListener::bind(SocketAddr::from((*a, port))).await {
                Ok(l) => all.push(l),
                Err(e) => {
                    last_err = Some(e);
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return Ok((port, all));
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no common free port")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(951_868_800), "2000-03-01T00:00:00Z");
        assert_eq!(iso(1_605_371_361), "2020-11-14T16:29:21Z");
    }

    #[test]
    fn rng_is_seeded_and_shares_roughly_right() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let hits = (0..10_000).filter(|_| a.chance(0.25)).count();
        assert!((2_200..2_800).contains(&hits), "{hits}");
        assert!(!a.chance(0.0));
        assert!(a.chance(1.0));
    }

    #[test]
    fn addresses_by_kind() {
        let mut a = AddrAlloc::new(42);
        assert_eq!(
            a.next(HostKind::Droplet),
            Some(Ipv4Addr::new(127, 42, 10, 1))
        );
        assert_eq!(
            a.next(HostKind::LoadBalancer),
            Some(Ipv4Addr::new(127, 42, 2, 1))
        );
        assert_eq!(
            a.next(HostKind::ReservedIp),
            Some(Ipv4Addr::new(127, 42, 3, 1))
        );
        for _ in 0..249 {
            a.next(HostKind::Droplet);
        }
        assert_eq!(
            a.next(HostKind::Droplet),
            Some(Ipv4Addr::new(127, 42, 11, 1))
        );
    }
}
