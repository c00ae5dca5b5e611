//! The properties of Plausible's v1 API (`event:page`, `visit:source`, …) as an enum.
//!
//! Which column or expression a property reads is decided in `sql`; this module only
//! names them, tells event from visit properties, and parses them.

/// A property to filter or break down by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Property {
    Page,
    Hostname,
    /// The event name (`event:name`), e.g. `pageview` or `Aanvraag verstuurd`.
    Name,
    Goal,
    /// A custom property `event:props:<key>`; the key is user text and is only ever bound as a value.
    Prop(String),
    EntryPage,
    ExitPage,
    Source,
    Referrer,
    Channel,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmContent,
    UtmTerm,
    Device,
    Browser,
    BrowserVersion,
    Os,
    OsVersion,
    Country,
    Region,
    City,
}

/// Visit properties and their API names, in the order they are listed in errors.
const VISIT: &[(&str, Property)] = &[
    ("entry_page", Property::EntryPage),
    ("exit_page", Property::ExitPage),
    ("source", Property::Source),
    ("referrer", Property::Referrer),
    ("channel", Property::Channel),
    ("utm_source", Property::UtmSource),
    ("utm_medium", Property::UtmMedium),
    ("utm_campaign", Property::UtmCampaign),
    ("utm_content", Property::UtmContent),
    ("utm_term", Property::UtmTerm),
    ("device", Property::Device),
    ("browser", Property::Browser),
    ("browser_version", Property::BrowserVersion),
    ("os", Property::Os),
    ("os_version", Property::OsVersion),
    ("country", Property::Country),
    ("region", Property::Region),
    ("city", Property::City),
];

const EVENT: &[(&str, Property)] = &[
    ("page", Property::Page),
    ("hostname", Property::Hostname),
    ("name", Property::Name),
    ("goal", Property::Goal),
];

impl Property {
    /// What `parse` accepts, for error messages.
    pub fn allowed() -> String {
        let events = EVENT.iter().map(|(n, _)| format!("event:{n}"));
        let visits = VISIT.iter().map(|(n, _)| format!("visit:{n}"));
        let mut all: Vec<String> = events
            .chain(std::iter::once("event:props:<key>".into()))
            .collect();
        all.extend(visits);
        all.join(", ")
    }

    /// Parses `event:page`, `event:props:key`, `visit:source`, ….
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(key) = s.strip_prefix("event:props:") {
            let ok = !key.is_empty() && key.len() <= 300;
            return ok.then(|| Self::Prop(key.to_string()));
        }
        let (table, name) = if let Some(n) = s.strip_prefix("event:") {
            (EVENT, n)
        } else if let Some(n) = s.strip_prefix("visit:") {
            (VISIT, n)
        } else {
            return None;
        };
        table
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p.clone())
    }

    /// True for `visit:*` properties: they describe a whole session (its first event).
    pub fn is_visit(&self) -> bool {
        VISIT.iter().any(|(_, p)| p == self)
    }

    /// Visit properties that never change within a visitor's day: the visitor id is a hash of
    /// IP address and User-Agent, and these come from exactly those. They can be filtered
    /// and broken down on single events, without grouping visits first (much cheaper).
    pub fn is_visitor_constant(&self) -> bool {
        matches!(
            self,
            Self::Device
                | Self::Browser
                | Self::BrowserVersion
                | Self::Os
                | Self::OsVersion
                | Self::Country
                | Self::Region
                | Self::City
        )
    }

    /// True when events alone do not tell the visit's value: filtering or grouping events
    /// by it goes through the `sessions` table.
    pub fn needs_sessions(&self) -> bool {
        self.is_visit() && !self.is_visitor_constant()
    }

    /// The key of this property in breakdown rows (`page`, `source`, or the custom property's key).
    pub fn result_key(&self) -> String {
        match self {
            Self::Prop(key) => key.clone(),
            other => EVENT
                .iter()
                .chain(VISIT)
                .find(|(_, p)| p == other)
                .map(|(n, _)| (*n).to_string())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_listed_property() {
        for (name, prop) in VISIT {
            assert_eq!(
                Property::parse(&format!("visit:{name}")).as_ref(),
                Some(prop)
            );
            assert!(prop.is_visit());
            assert_eq!(prop.result_key(), *name);
        }
        for (name, prop) in EVENT {
            assert_eq!(
                Property::parse(&format!("event:{name}")).as_ref(),
                Some(prop)
            );
            assert!(!prop.is_visit());
        }
        assert_eq!(
            Property::parse("event:props:wijk"),
            Some(Property::Prop("wijk".into()))
        );
        assert_eq!(Property::Prop("wijk".into()).result_key(), "wijk");
        assert_eq!(Property::parse("event:props:"), None);
        assert_eq!(Property::parse("visit:page"), None);
        assert_eq!(Property::parse("page"), None);
        assert!(Property::allowed().contains("visit:utm_campaign"));
        assert!(!Property::Country.needs_sessions() && Property::Source.needs_sessions());
        assert!(!Property::Page.needs_sessions());
    }
}
