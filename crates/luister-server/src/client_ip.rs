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

    /// The client address: the peer, or, when the peer is a trusted proxy, the right-most
    /// hop of the forwarding header that is not a trusted proxy itself.
    ///
    /// `header_lines` are every line of that header in order: a proxy may append its own
    /// line instead of extending the client's, and reading only the first line would let
    /// the client choose its address.
    pub fn client_ip<'a>(
        &self,
        peer: Option<IpAddr>,
        header: ForwardedHeader,
        header_lines: impl IntoIterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops: Vec<&str> = header_lines
            .into_iter()
            .flat_map(|line| line.split(','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = header.hop_address(hop) else {
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

/// Which header a trusted proxy puts the client's address in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1` (nginx, HAProxy, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for=proxy1`.
    Forwarded,
}

impl ForwardedHeader {
    /// The header's name, as configured (`x-forwarded-for` or `forwarded`).
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        }
    }

    fn hop_address(self, hop: &str) -> Option<IpAddr> {
        match self {
            ForwardedHeader::XForwardedFor => parse_hop(hop.trim()),
            ForwardedHeader::Forwarded => hop
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, value)| parse_hop(value.trim().trim_matches('"'))),
        }
    }
}

impl FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            other => Err(format!("{other:?} is not x-forwarded-for or forwarded")),
        }
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

    fn xff(trusted: &TrustedProxies, peer: &str, lines: &[&str]) -> Option<IpAddr> {
        trusted.client_ip(
            Some(ip(peer)),
            ForwardedHeader::XForwardedFor,
            lines.iter().copied(),
        )
    }

    #[test]
    fn forwarded_for_only_from_trusted_peers() {
        let trusted: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
        let line = ["203.0.113.9, 10.1.1.1"];
        assert_eq!(xff(&trusted, "10.2.2.2", &line), Some(ip("203.0.113.9")));
        assert_eq!(
            xff(&trusted, "198.51.100.1", &line),
            Some(ip("198.51.100.1"))
        );
        // A client-supplied first entry is ignored when a later hop is untrusted.
        assert_eq!(
            xff(&trusted, "127.0.0.1", &["1.1.1.1, 198.51.100.7"]),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            xff(&trusted, "127.0.0.1", &["[2001:db8::1]:443"]),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            xff(&trusted, "127.0.0.1", &["garbage"]),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            xff(&TrustedProxies::default(), "10.0.0.1", &line),
            Some(ip("10.0.0.1"))
        );
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("nonsense".parse::<TrustedProxies>().is_err());
    }

    #[test]
    fn a_proxy_line_after_the_clients_own_line_wins() {
        // HAProxy appends its own header line: the client's forged first line must not count.
        let trusted: TrustedProxies = "127.0.0.1".parse().unwrap();
        assert_eq!(
            xff(&trusted, "127.0.0.1", &["6.6.6.6", "198.51.100.7"]),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn rfc_7239_forwarded() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let forwarded = |lines: &[&str]| {
            trusted.client_ip(
                Some(ip("10.0.0.2")),
                ForwardedHeader::Forwarded,
                lines.iter().copied(),
            )
        };
        assert_eq!(
            forwarded(&["for=6.6.6.6", "for=198.51.100.7;proto=https, for=10.0.0.5"]),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            forwarded(&[r#"For="[2001:db8:cafe::17]:4711""#]),
            Some(ip("2001:db8:cafe::17"))
        );
        assert_eq!(forwarded(&["for=unknown"]), Some(ip("10.0.0.2")));
        assert_eq!(
            "Forwarded".parse::<ForwardedHeader>(),
            Ok(ForwardedHeader::Forwarded)
        );
        assert!("via".parse::<ForwardedHeader>().is_err());
    }
}
