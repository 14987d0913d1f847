//! Name n-grams: the lowercased characters of a name in runs of one, two and three.
//!
//! `name[ctn]=P` is defined as: the lowercased pattern is a substring of the lowercased name,
//! where lowercasing maps each character through [`char::to_lowercase`] (so a final capital sigma
//! matches like any other sigma). A pattern of one to three characters is itself an n-gram, so
//! its bitmap is the exact answer; a longer pattern's candidates are the intersection of its
//! trigrams' bitmaps, and each candidate is verified against the name.

/// The longest n-gram indexed, in characters.
pub(crate) const MAX_GRAM: usize = 3;

/// The lowercased characters of `s`.
pub(crate) fn lower_chars(s: &str) -> Vec<char> {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// The lowercased form of `s`, as `ctn` compares it.
pub(crate) fn lower(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    out.extend(s.chars().flat_map(char::to_lowercase));
    out
}

/// Whether `lower(text)` contains `pattern`, a pattern already lowercased: `ctn`'s test of one
/// name. An ASCII name (most of them) lowercases byte by byte, so it is compared in place
/// instead of being copied lowercased first, which a page of candidates did for every row.
pub(crate) fn contains_lowered(text: &str, pattern: &str) -> bool {
    if !text.is_ascii() {
        return lower(text).contains(pattern);
    }
    // The pattern is lowercase, so only the name's bytes need folding; a non-ASCII pattern
    // matches no window of an ASCII name.
    let (text, pattern) = (text.as_bytes(), pattern.as_bytes());
    pattern.is_empty() || text.windows(pattern.len()).any(|w| w.eq_ignore_ascii_case(pattern))
}

/// The distinct n-grams (1 to 3 characters) of a name, lowercased, sorted.
pub(crate) fn name_grams(name: &str) -> Vec<Box<str>> {
    let chars = lower_chars(name);
    let mut out: Vec<Box<str>> = Vec::new();
    for n in 1..=MAX_GRAM {
        for w in chars.windows(n) {
            out.push(w.iter().collect::<String>().into_boxed_str());
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The n-grams whose bitmaps answer `ctn` for this pattern: the pattern itself when it has at
/// most three characters (exact), otherwise its distinct trigrams (candidates to verify).
/// Empty for an empty pattern.
pub(crate) fn pattern_grams(pattern: &str) -> (Vec<Box<str>>, bool) {
    let chars = lower_chars(pattern);
    if chars.is_empty() {
        return (Vec::new(), true);
    }
    if chars.len() <= MAX_GRAM {
        return (vec![chars.iter().collect::<String>().into_boxed_str()], true);
    }
    let mut out: Vec<Box<str>> =
        chars.windows(MAX_GRAM).map(|w| w.iter().collect::<String>().into_boxed_str()).collect();
    out.sort_unstable();
    out.dedup();
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams_cover_every_window_and_fold_case() {
        let g = name_grams("AbA");
        let g: Vec<&str> = g.iter().map(|s| &**s).collect();
        assert_eq!(g, ["a", "ab", "aba", "b", "ba"]);
        let cyr = name_grams("Ёж");
        assert!(cyr.iter().any(|s| &**s == "ёж"));
        assert_eq!(pattern_grams("PaRty").0.len(), 3);
        assert!(pattern_grams("pa").1);
        assert!(!pattern_grams("party").1);
        assert!(lower("New Year PARTY").contains(&lower("party")));
        assert!(lower("ΟΔΟΣ").contains(&lower("σ")));
    }

    #[test]
    fn contains_lowered_is_lower_then_contains() {
        let cases = [
            ("New Year PARTY", "party", true),
            ("New Year PARTY", "year p", true),
            ("New Year PARTY", "years", false),
            ("abc", "", true),
            ("", "", true),
            ("ab", "abc", false),
            ("ABC", "é", false),
            // Not ASCII: the Kelvin sign lowercases to an ASCII `k`.
            ("\u{212A}ilo", "kilo", true),
            ("Ёлка PARTY", "ёлка p", true),
            ("ΟΔΟΣ", "σ", true),
        ];
        for (text, pattern, want) in cases {
            let pattern = lower(pattern);
            assert_eq!(contains_lowered(text, &pattern), want, "{text:?} ctn {pattern:?}");
            assert_eq!(lower(text).contains(&pattern), want, "{text:?} ctn {pattern:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn contains_lowered_agrees_with_lowering_first(
            text in "[a-zA-Z ÀÉΣσЁё\u{212A}İ]{0,12}",
            pattern in "[a-zA-Z ÀÉΣσЁё\u{212A}İ]{0,4}",
        ) {
            let pattern = lower(&pattern);
            proptest::prop_assert_eq!(
                contains_lowered(&text, &pattern),
                lower(&text).contains(&pattern)
            );
        }
    }
}
