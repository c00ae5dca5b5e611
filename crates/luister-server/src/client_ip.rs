//! Which IP address a request came from: the peer, or `X-Forwarded-For` when the
//! peer is a proxy we were told to trust (and never otherwise, or anyone could
//! choose their visitor id).

use std::net::IpAddr;
use std::str::FromStr;

/// One trusted address or network (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(_), IpAddr::V4(ip)) => self.contains(IpAddr::V6(ip.to_ipv6_mapped())),
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = (prefix / 8) as usize;
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || (a[full] >> (8 - rest)) == (b[full] >> (8 - rest))
}

/// The configured trusted proxies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// Comma- or space-separated addresses and CIDR networks.
    fn from_str(list: &str) -> Result<Self, String> {
        list.split([',', ' '])
            .filter(|s| !s.trim().is_empty())
            .map(|entry| parse_network(entry.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }
}

fn parse_network(entry: &str) -> Result<Network, String> {
    let (addr, prefix) = match entry.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (entry, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("{entry:?} is not an IP address or CIDR network"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("{entry:?} has an invalid prefix length"))?,
        None => max,
    };
    Ok(Network { addr, prefix })
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client address: walk `X-Forwarded-For` from the right past trusted hops.
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let Some(header) = forwarded_for else {
            return Some(peer);
        };
        let mut client = peer;
        for hop in header.rsplit(',') {
            let Some(ip) = parse_hop(hop.trim()) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        Some(client)
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `[::1]:80` or `::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse().ok().or_else(|| {
        let host = hop
            .strip_prefix('[')
            .and_then(|h| h.split(']').next())
            .unwrap_or_else(|| hop.rsplit_once(':').map_or(hop, |(h, _)| h));
        host.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_only_from_trusted_peers() {
        let trusted: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
        let xff = Some("203.0.113.9, 10.1.1.1");
        assert_eq!(
            trusted.client_ip(Some(ip("10.2.2.2")), xff),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            trusted.client_ip(Some(ip("198.51.100.1")), xff),
            Some(ip("198.51.100.1"))
        );
        // A client-supplied first entry is ignored when a later hop is untrusted.
        assert_eq!(
            trusted.client_ip(Some(ip("127.0.0.1")), Some("1.1.1.1, 198.51.100.7")),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            trusted.client_ip(Some(ip("127.0.0.1")), Some("[2001:db8::1]:443")),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            trusted.client_ip(Some(ip("127.0.0.1")), Some("garbage")),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            TrustedProxies::default().client_ip(Some(ip("10.0.0.1")), xff),
            Some(ip("10.0.0.1"))
        );
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("nonsense".parse::<TrustedProxies>().is_err());
    }
}
