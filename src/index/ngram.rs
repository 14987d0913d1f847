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
    s.chars().flat_map(char::to_lowercase).collect()
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
}
