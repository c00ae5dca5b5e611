use super::*;

#[test]
fn scrub_table() {
    // (input, expected output)
    let cases: &[(&str, &str)] = &[
        // e-mail
        ("jan.jansen@example.nl", "[email]"),
        ("/zoeken/jan.jansen@example.nl", "/zoeken/[email]"),
        ("mail a.b-c+tag@sub.gemeente.nl nu", "mail [email] nu"),
        ("jan%40example.nl", "[email]"),
        (
            "/contact/jan%40example.nl/bevestigd",
            "/contact/[email]/bevestigd",
        ),
        ("zoë@voorbeeld.nl", "[email]"),
        // phone numbers
        ("0612345678", "[telefoon]"),
        ("bel 06-12345678 voor info", "bel [telefoon] voor info"),
        ("06 1234 5678", "[telefoon]"),
        ("06 12 34 56 78", "[telefoon]"),
        ("+31612345678", "[telefoon]"),
        ("+31 6 12345678", "[telefoon]"),
        ("+31 (0)20 123 4567", "[telefoon]"),
        ("0031 6 12345678", "[telefoon]"),
        ("0031612345678", "[telefoon]"),
        ("020-1234567", "[telefoon]"),
        ("010 123 4567", "[telefoon]"),
        ("0201234567", "[telefoon]"),
        ("(020) 123 4567", "[telefoon]"),
        ("/terugbellen/0612345678", "/terugbellen/[telefoon]"),
        ("06%2012345678", "[telefoon]"),
        ("+44 20 7946 0958", "[telefoon]"),
        ("+1 415 555 2671", "[telefoon]"),
        (" 31612345678", " [telefoon]"),
        // BSN
        ("111222333", "[bsn]"),
        ("/bsn/111222333", "/bsn/[bsn]"),
        ("mijn bsn is 123456782.", "mijn bsn is [bsn]."),
        ("12345672", "[bsn]"),
        // IBAN
        ("NL91ABNA0417164300", "[iban]"),
        ("NL91 ABNA 0417 1643 00", "[iban]"),
        ("nl91abna0417164300", "[iban]"),
        ("iban NL91 ABNA 0417 1643 00 graag", "iban [iban] graag"),
        ("DE89370400440532013000", "[iban]"),
        ("GB82 WEST 1234 5698 7654 32", "[iban]"),
        ("BE68 5390 0754 7034 voor de huur", "[iban] voor de huur"),
        ("/betalen/NL02ABNA0123456789/ok", "/betalen/[iban]/ok"),
        // postcode + house number
        ("1234 AB 12", "[adres]"),
        ("1234AB12", "[adres]"),
        ("1234ab-12a", "[adres]"),
        ("1234 AB, 12", "[adres]"),
        ("1234 EN 12", "[adres]"),
        ("1234en12", "[adres]"),
        ("7511 ab 5", "[adres]"),
        ("woon op 2511 CV 7 bis", "woon op [adres] bis"),
        ("/adres/1234AB/12", "/adres/1234AB/12"),
        // several kinds at once
        (
            "jan@example.nl 0612345678 111222333",
            "[email] [telefoon] [bsn]",
        ),
        // negatives: must stay exactly as they are
        ("111222334", "111222334"),
        ("123456789", "123456789"),
        ("ordernummer 987654321", "ordernummer 987654321"),
        ("bestelling 20261129", "bestelling 20261129"),
        (
            "/nieuws/2026-11-29/raadsvergadering",
            "/nieuws/2026-11-29/raadsvergadering",
        ),
        ("29-11-2026", "29-11-2026"),
        ("01-12-2026 12:00", "01-12-2026 12:00"),
        ("jaarverslag 2025 en 2026", "jaarverslag 2025 en 2026"),
        ("tussen 1990 en 2000 gebouwd", "tussen 1990 en 2000 gebouwd"),
        ("6000 km 12 dagen", "6000 km 12 dagen"),
        ("2025 en 2026 AB 12", "2025 en [adres]"),
        ("prijs € 1.250.000,00", "prijs € 1.250.000,00"),
        ("bedrag 111222333,50 euro", "bedrag 111222333,50 euro"),
        ("versie 12.111222333", "versie 12.111222333"),
        ("1234 AB", "1234 AB"),
        ("postcode 1234AB in enschede", "postcode 1234AB in enschede"),
        ("NL92ABNA0417164300", "NL92ABNA0417164300"),
        ("NL91ABNA04171643001", "NL91ABNA04171643001"),
        ("kenmerk 1234567890123", "kenmerk 1234567890123"),
        ("abc111222333", "abc111222333"),
        ("/product/sku-12345", "/product/sku-12345"),
        ("+12,50 korting", "+12,50 korting"),
        ("0800-1234", "0800-1234"),
        ("@gemeente op twitter", "@gemeente op twitter"),
        ("50%25 korting", "50%25 korting"),
        ("", ""),
        ("/afval/ophaaldagen", "/afval/ophaaldagen"),
    ];
    let mut failures = Vec::new();
    for (input, expected) in cases {
        let got = scrub(input);
        if got != *expected {
            failures.push(format!("{input:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn clean_text_is_borrowed() {
    for text in [
        "/afval",
        "/nieuws/2026-11-29",
        "postcode 1234AB",
        "111222334",
    ] {
        assert!(matches!(scrub(text), Cow::Borrowed(_)), "{text}");
    }
}

#[test]
fn checksums() {
    assert!(bsn_checksum_holds(b"111222333"));
    assert!(bsn_checksum_holds(b"123456782"));
    assert!(bsn_checksum_holds(b"12345672"));
    assert!(!bsn_checksum_holds(b"111222334"));
    assert!(!bsn_checksum_holds(b"000000000"));
    assert!(iban_checksum_holds(b"NL91ABNA0417164300"));
    assert!(!iban_checksum_holds(b"NL92ABNA0417164300"));
}

#[test]
fn search_terms_are_normalised() {
    let cases: &[(&str, &str)] = &[
        ("  Paspoort   Aanvragen ", "paspoort aanvragen"),
        ("AFVAL\tkalender\n2026", "afval kalender 2026"),
        ("jan@example.nl", "[verwijderd]"),
        ("  0612345678 ", "[verwijderd]"),
        ("111222333!", "[verwijderd]"),
        ("uitkering 111222333", "uitkering [bsn]"),
        (
            "rijbewijs NL91ABNA0417164300 betalen",
            "rijbewijs [iban] betalen",
        ),
        ("1234 AB 12", "[verwijderd]"),
        ("parkeren 1234 ab", "parkeren 1234 ab"),
        ("Verhuizen naar 1234 EN 12", "verhuizen naar [adres]"),
        ("tussen 2025 en 2026", "tussen 2025 en 2026"),
        ("?", "?"),
        ("", ""),
    ];
    for (raw, expected) in cases {
        assert_eq!(normalize_search_term(raw), *expected, "{raw:?}");
    }
}

#[test]
fn long_search_terms_are_cut_on_a_char_boundary() {
    let raw = "é".repeat(400);
    let term = normalize_search_term(&raw);
    assert!(term.len() <= MAX_SEARCH_TERM_BYTES);
    assert!(term.chars().all(|c| c == 'é'));
}

#[test]
fn never_panics_on_odd_input() {
    let odd = [
        "%",
        "%4",
        "%40",
        "%ff%fe@",
        "@@@",
        "+",
        "++++++++++",
        "00",
        "\u{0}123456789\u{0}",
        "१२३४५६७८९",
        "NL",
        "NL91",
        "NL91 ",
        "1234 ab-",
        "é1234AB12é",
    ];
    for text in odd {
        let _ = scrub(text);
        let _ = normalize_search_term(text);
    }
}

/// Found by `scripts/fuzz.sh` (pii_scrub): decoding `%20` made a postcode and house
/// number meet that the first pass could not see.
#[test]
fn fuzz_found_normalising_is_a_fixed_point() {
    let text = "\n%400\u{13}7594Jv\n%200\u{13}7594Jv5A`5A`";
    let term = normalize_search_term(text);
    assert_eq!(normalize_search_term(&term), term);
    let once = scrub(text).into_owned();
    assert_eq!(scrub(&once), once);
}
