//! Channel: which of Plausible's channels (Organic Search, Paid Social, Email, …) a
//! visit came through, from the resolved source and the campaign tags. Pure rules;
//! the source itself is resolved in `referrer`.

use super::page_url::ClickId;
use super::referrer::Category;

/// Everything the channel rules look at, lower-cased.
pub(crate) struct ChannelInput<'a> {
    /// Resolved source name; empty for direct traffic.
    pub(crate) source: &'a str,
    pub(crate) category: Category,
    pub(crate) utm_medium: &'a str,
    pub(crate) utm_campaign: &'a str,
    pub(crate) utm_source: &'a str,
    pub(crate) paid_source: bool,
    pub(crate) click_id: Option<ClickId>,
}

/// Plausible's channel definitions, first match wins.
pub(crate) fn channel(c: &ChannelInput<'_>) -> &'static str {
    let paid = paid_medium(c.utm_medium) || c.paid_source;
    let shopping = c.category == Category::Shopping || shopping_campaign(c.utm_campaign);
    let search = c.category == Category::Search;
    let social = c.category == Category::Social;
    let video = c.category == Category::Video;
    const EMAIL_TAGS: [&str; 5] = ["email", "e-mail", "e_mail", "e mail", "newsletter"];
    const SOCIAL_MEDIUMS: [&str; 6] = [
        "social",
        "social-network",
        "social-media",
        "sm",
        "social network",
        "social media",
    ];
    if c.utm_campaign.contains("cross-network") {
        "Cross-network"
    } else if shopping && paid_medium(c.utm_medium) {
        "Paid Shopping"
    } else if (search && paid)
        || (c.source == "google" && c.click_id == Some(ClickId::Gclid))
        || (c.source == "bing" && c.click_id == Some(ClickId::Msclkid))
    {
        "Paid Search"
    } else if social && paid {
        "Paid Social"
    } else if video && paid {
        "Paid Video"
    } else if matches!(
        c.utm_medium,
        "display" | "banner" | "expandable" | "interstitial" | "cpm"
    ) {
        "Display"
    } else if paid_medium(c.utm_medium) {
        "Paid Other"
    } else if shopping {
        "Organic Shopping"
    } else if social || SOCIAL_MEDIUMS.contains(&c.utm_medium) {
        "Organic Social"
    } else if video || c.utm_medium.contains("video") {
        "Organic Video"
    } else if c.category == Category::AiAssistant {
        "AI Assistants"
    } else if search {
        "Organic Search"
    } else if c.category == Category::Email
        || EMAIL_TAGS
            .iter()
            .any(|t| c.utm_source.contains(t) || c.utm_medium.contains(t))
    {
        "Email"
    } else if c.utm_medium == "affiliate" {
        "Affiliates"
    } else if c.utm_medium == "audio" {
        "Audio"
    } else if c.utm_source == "sms" || c.utm_medium == "sms" {
        "SMS"
    } else if c.utm_medium.ends_with("push")
        || c.utm_medium.contains("mobile")
        || c.utm_medium.contains("notification")
        || c.source == "firebase"
    {
        "Mobile Push Notifications"
    } else if matches!(c.utm_medium, "referral" | "app" | "link") || !c.source.is_empty() {
        "Referral"
    } else {
        "Direct"
    }
}

/// `cpc`, `ppc`, `cpm`, `retargeting`, `paid…` and anything else with "cp" in it.
fn paid_medium(medium: &str) -> bool {
    medium.contains("cp")
        || medium == "ppc"
        || medium == "retargeting"
        || medium.starts_with("paid")
}

/// "shopping" anywhere, or "shop" at a word start or after an "e" (`eshop`), not `workshop`.
fn shopping_campaign(campaign: &str) -> bool {
    if campaign.contains("shopping") {
        return true;
    }
    campaign
        .match_indices("shop")
        .any(|(i, _)| match campaign[..i].chars().next_back() {
            None => true,
            Some(c) => c == 'e' || !c.is_ascii_lowercase(),
        })
}
