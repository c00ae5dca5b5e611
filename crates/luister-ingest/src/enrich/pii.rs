//! Removal of personal data from text that will be stored: URL paths, kept query values,
//! referrer paths, search terms and custom property values.
//!
//! [`scrub`] replaces what identifies a person with a placeholder: e-mail addresses
//! (`[email]`), IBANs (`[iban]`), phone numbers (`[telefoon]`), Dutch postcode + house number
//! (`[adres]`) and citizen service numbers (BSN, `[bsn]`). Candidates with a checksum (IBAN,
//! BSN) are only replaced when the checksum holds, so order numbers and dates survive.
//!
//! This module does not decide *where* scrubbing happens and never rejects input. Text with
//! fewer than five digits and no `@` (most paths) costs one pass over its bytes and no regex.

use percent_encoding::percent_decode_str;
use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

pub const EMAIL_PLACEHOLDER: &str = "[email]";
pub const PHONE_PLACEHOLDER: &str = "[telefoon]";
pub const BSN_PLACEHOLDER: &str = "[bsn]";
pub const IBAN_PLACEHOLDER: &str = "[iban]";
pub const ADDRESS_PLACEHOLDER: &str = "[adres]";
/// What a search term becomes when nothing but personal data was in it.
pub const REMOVED_PLACEHOLDER: &str = "[verwijderd]";

const PLACEHOLDERS: [&str; 5] = [
    EMAIL_PLACEHOLDER,
    PHONE_PLACEHOLDER,
    BSN_PLACEHOLDER,
    IBAN_PLACEHOLDER,
    ADDRESS_PLACEHOLDER,
];

/// Search terms are cut to this many bytes (after scrubbing, on a character boundary).
pub const MAX_SEARCH_TERM_BYTES: usize = 500;

static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}")
        .expect("e-mail pattern compiles")
});

/// Where an IBAN may start: country code and check digits at a word start.
static IBAN_START_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i-u:\b[a-z]{2}[0-9]{2})").expect("IBAN pattern compiles"));

/// Phone numbers; each alternative is checked further in [`plausible_phone`].
static PHONE_RE: LazyLock<Regex> = LazyLock::new(|| {
    let international = r"\+[1-9][0-9]{0,2}[ .\-]?(?:\(0\)[ .\-]?)?[0-9](?:[ .\-]?[0-9]){7,13}";
    let international_00 =
        r"(?-u:\b)00[1-9][0-9]{0,2}[ \-]?(?:\(0\)[ \-]?)?[0-9](?:[ \-]?[0-9]){7,12}";
    // "+31 6 12345678" after a form decoder turned the "+" into a space.
    let dutch_without_plus = r"(?-u:\b)31[ \-]?(?:\(0\)[ \-]?)?[1-9](?:[ \-]?[0-9]){8}";
    let national = r"(?-u:\b)0[1-9](?:[ \-]?[0-9]){8}";
    let national_parenthesised = r"\(0[1-9][0-9]{1,2}\)[ \-]?[0-9](?:[ \-]?[0-9]){5,7}";
    Regex::new(&format!(
        "(?:{international}|{international_00}|{dutch_without_plus}|{national}|{national_parenthesised})(?-u:\\b)"
    ))
    .expect("phone pattern compiles")
});

/// Dutch postcode followed by a house number (and optional addition).
static ADDRESS_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i-u:\b[1-9][0-9]{3}( ?)([a-z]{2})(?: *, *| |-)?[0-9]{1,5}(?:[ \-]?[a-z]{1,2})?\b)",
    )
    .expect("address pattern compiles")
});

/// Passes after which scrubbing stops looking for more (decoding can reveal new matches;
/// real text settles in one or two).
const MAX_PASSES: usize = 4;

/// Replaces personal data in `text` with placeholders; borrows `text` when there is none.
///
/// Percent-encoded text (`jan%40example.nl`) is decoded first; when something is replaced the
/// result is the decoded text, otherwise the input is returned untouched. The result is a
/// fixed point: scrubbing it again changes nothing (decoding may reveal what the first pass
/// could not see, so passes repeat until nothing changes).
pub fn scrub(text: &str) -> Cow<'_, str> {
    let Cow::Owned(mut scrubbed) = scrub_pass(text) else {
        return Cow::Borrowed(text);
    };
    for _ in 1..MAX_PASSES {
        match scrub_pass(&scrubbed) {
            Cow::Borrowed(_) => break,
            Cow::Owned(next) => scrubbed = next,
        }
    }
    Cow::Owned(scrubbed)
}

fn scrub_pass(text: &str) -> Cow<'_, str> {
    let digits = count_ascii_digits(text);
    let has_at = text.contains('@') || contains_encoded_at(text);
    if digits < 5 && !has_at {
        return Cow::Borrowed(text);
    }
    let decoded = if text.contains('%') {
        percent_decode_str(text).decode_utf8_lossy()
    } else {
        Cow::Borrowed(text)
    };
    match scrub_decoded(&decoded, digits, has_at) {
        Some(scrubbed) => Cow::Owned(scrubbed),
        None => Cow::Borrowed(text),
    }
}

/// Normalises a site-search term for storage: trimmed, lower-case, whitespace runs folded to
/// one space, personal data scrubbed, at most [`MAX_SEARCH_TERM_BYTES`].
///
/// A term in which scrubbing left nothing but placeholders and punctuation becomes
/// [`REMOVED_PLACEHOLDER`]; a term without personal data is kept even when it is only
/// punctuation (a search for "?" tells something about the site, not the person).
pub fn normalize_search_term(raw: &str) -> String {
    let mut term = normalize_pass(raw);
    for _ in 1..MAX_PASSES {
        let next = normalize_pass(&term);
        if next == term {
            break;
        }
        term = next;
    }
    term
}

fn normalize_pass(raw: &str) -> String {
    // Scrub before lower-casing: an upper-case "1234 EN 12" reads as a postcode, "1234 en 12"
    // might be words.
    let folded = fold_whitespace(raw);
    let term = match scrub(&folded) {
        Cow::Borrowed(_) => folded.to_lowercase(),
        Cow::Owned(scrubbed) => {
            if only_placeholders_and_punctuation(&scrubbed) {
                return REMOVED_PLACEHOLDER.to_string();
            }
            fold_whitespace(&scrubbed).to_lowercase()
        }
    };
    truncate_on_char_boundary(term, MAX_SEARCH_TERM_BYTES)
}

/// Cuts `s` to at most `max` bytes without splitting a character.
pub(crate) fn truncate_on_char_boundary(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

fn fold_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn only_placeholders_and_punctuation(s: &str) -> bool {
    let mut rest = s.to_string();
    for placeholder in PLACEHOLDERS {
        rest = rest.replace(placeholder, " ");
    }
    !rest.chars().any(char::is_alphanumeric)
}

fn count_ascii_digits(text: &str) -> usize {
    text.bytes().filter(u8::is_ascii_digit).count()
}

fn contains_encoded_at(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'4' && w[2] == b'0')
}

/// Runs every detector in a fixed order; `None` when nothing was found.
///
/// E-mail first (addresses contain digits), IBAN before phone (a grouped IBAN contains a
/// phone-shaped digit run), BSN last (it only looks at bare digit runs that are left).
fn scrub_decoded(text: &str, digits: usize, has_at: bool) -> Option<String> {
    let mut current: Cow<'_, str> = Cow::Borrowed(text);
    let mut changed = false;
    let mut apply = |current: &mut Cow<'_, str>, result: Option<String>| {
        if let Some(s) = result {
            *current = Cow::Owned(s);
            changed = true;
        }
    };
    if has_at {
        let r = replace_emails(&current);
        apply(&mut current, r);
    }
    if digits >= 10 {
        let r = replace_ibans(&current);
        apply(&mut current, r);
    }
    if digits >= 9 {
        let r = replace_phones(&current);
        apply(&mut current, r);
    }
    if digits >= 5 {
        let r = replace_addresses(&current);
        apply(&mut current, r);
    }
    if digits >= 8 {
        let r = replace_bsns(&current);
        apply(&mut current, r);
    }
    changed.then(|| current.into_owned())
}

/// Rebuilds `text` with the given non-overlapping, ordered byte ranges replaced.
fn splice(text: &str, ranges: &[(usize, usize)], placeholder: &str) -> Option<String> {
    if ranges.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for &(start, end) in ranges {
        out.push_str(&text[last..start]);
        out.push_str(placeholder);
        last = end;
    }
    out.push_str(&text[last..]);
    Some(out)
}

fn replace_emails(text: &str) -> Option<String> {
    let ranges: Vec<_> = EMAIL_RE
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect();
    splice(text, &ranges, EMAIL_PLACEHOLDER)
}

fn replace_ibans(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    let mut next_free = 0;
    for m in IBAN_START_RE.find_iter(text) {
        if m.start() < next_free {
            continue;
        }
        let Some(len) = iban_length(&bytes[m.start()..m.start() + 2]) else {
            continue;
        };
        let mut compact = Vec::with_capacity(len);
        let mut i = m.start();
        while i < bytes.len() && compact.len() < len {
            let b = bytes[i];
            if b.is_ascii_alphanumeric() {
                compact.push(b.to_ascii_uppercase());
                i += 1;
            } else if b == b' '
                && compact.len() >= 4
                && bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)
            {
                i += 1;
            } else {
                break;
            }
        }
        let ends_cleanly = !matches!(bytes.get(i), Some(b) if b.is_ascii_alphanumeric());
        if compact.len() == len && ends_cleanly && iban_checksum_holds(&compact) {
            ranges.push((m.start(), i));
            next_free = i;
        }
    }
    splice(text, &ranges, IBAN_PLACEHOLDER)
}

/// Total IBAN length per country (ISO 13616 registry).
fn iban_length(country: &[u8]) -> Option<usize> {
    let cc = [
        country[0].to_ascii_uppercase(),
        country[1].to_ascii_uppercase(),
    ];
    let len = match &cc {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"FO" | b"GL" | b"NL" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"XK" => 20,
        b"CH" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"CR" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" | b"VA" => 22,
        b"AE" | b"GI" | b"IL" | b"IQ" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"PT" | b"ST" => 25,
        b"IS" | b"TR" => 26,
        b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HU" | b"LB" | b"PL" | b"SV" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        _ => return None,
    };
    Some(len)
}

/// ISO 7064 mod-97-10 over an upper-case, space-free IBAN: remainder must be 1.
fn iban_checksum_holds(iban: &[u8]) -> bool {
    if iban.len() < 5 || !iban[2].is_ascii_digit() || !iban[3].is_ascii_digit() {
        return false;
    }
    let mut remainder: u32 = 0;
    for &b in iban[4..].iter().chain(&iban[..4]) {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

fn replace_phones(text: &str) -> Option<String> {
    let ranges: Vec<_> = PHONE_RE
        .find_iter(text)
        .filter(|m| plausible_phone(m.as_str()))
        .map(|m| (m.start(), m.end()))
        .collect();
    splice(text, &ranges, PHONE_PLACEHOLDER)
}

/// Rejects digit runs that the patterns allow but that read as something else.
fn plausible_phone(candidate: &str) -> bool {
    let digits = count_ascii_digits(candidate);
    // More than one dash is a date ("01-12-2026 12"), not a Dutch phone number.
    let dashes = candidate.bytes().filter(|&b| b == b'-').count();
    (9..=15).contains(&digits) && (candidate.starts_with('+') || dashes <= 1)
}

fn replace_addresses(text: &str) -> Option<String> {
    let mut ranges = Vec::new();
    let mut pos = 0;
    while let Some(caps) = ADDRESS_RE.captures_at(text, pos) {
        let (Some(whole), Some(gap), Some(letters)) = (caps.get(0), caps.get(1), caps.get(2))
        else {
            break;
        };
        if reads_as_words(gap.as_str(), letters.as_str()) {
            // Look again one digit further: "2025 en 2026 AB 12" still has an address.
            pos = whole.start() + 1;
        } else {
            ranges.push((whole.start(), whole.end()));
            pos = whole.end();
        }
    }
    splice(text, &ranges, ADDRESS_PLACEHOLDER)
}

/// "2025 en 2026", "1990 tot" : a number, a short word and a number are not an address
/// unless the letters are written as a postcode (upper case or attached to the digits).
fn reads_as_words(gap: &str, letters: &str) -> bool {
    const SHORT_WORDS: &[&str] = &[
        "al", "am", "an", "as", "at", "by", "cm", "de", "en", "er", "ha", "if", "ik", "in", "is",
        "it", "je", "kg", "km", "mm", "na", "nu", "of", "om", "on", "op", "or", "pm", "te", "to",
        "we", "ze", "zo",
    ];
    !gap.is_empty()
        && !letters.bytes().all(|b| b.is_ascii_uppercase())
        && SHORT_WORDS.iter().any(|w| w.eq_ignore_ascii_case(letters))
}

fn replace_bsns(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let run = &bytes[start..i];
        if (run.len() == 8 || run.len() == 9)
            && standalone(bytes, start, i)
            && bsn_checksum_holds(run)
        {
            ranges.push((start, i));
        }
    }
    splice(text, &ranges, BSN_PLACEHOLDER)
}

/// Whether the digit run `bytes[start..end]` is a number of its own: not glued to letters and
/// not part of a longer number such as `12.345678901` or `123456789,50`.
fn standalone(bytes: &[u8], start: usize, end: usize) -> bool {
    let before_ok = match start.checked_sub(1).map(|i| bytes[i]) {
        None => true,
        Some(b) if b.is_ascii_alphanumeric() => false,
        Some(b'.' | b',') => !start
            .checked_sub(2)
            .is_some_and(|i| bytes[i].is_ascii_digit()),
        Some(_) => true,
    };
    let after_ok = match bytes.get(end) {
        None => true,
        Some(b) if b.is_ascii_alphanumeric() => false,
        Some(b'.' | b',') => !bytes.get(end + 1).is_some_and(u8::is_ascii_digit),
        Some(_) => true,
    };
    before_ok && after_ok
}

/// The "elfproef" for a BSN of 9 digits (8 digits: with an implied leading zero).
fn bsn_checksum_holds(digits: &[u8]) -> bool {
    let mut padded = [b'0'; 9];
    match digits.len() {
        9 => padded.copy_from_slice(digits),
        8 => padded[1..].copy_from_slice(digits),
        _ => return false,
    }
    let mut sum: i32 = 0;
    for (i, &d) in padded.iter().enumerate() {
        let value = i32::from(d - b'0');
        let weight = if i == 8 { -1 } else { 9 - i as i32 };
        sum += weight * value;
    }
    sum != 0 && sum % 11 == 0
}

#[cfg(test)]
#[path = "pii_tests.rs"]
mod tests;
