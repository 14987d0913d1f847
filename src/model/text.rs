//! Text helpers of the model: times as ISO 8601 text, and input cut to fit an error message.

/// Formats unix seconds as `2019-09-08T17:24:11Z`.
pub(crate) fn format_time(secs: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => {
            let fmt =
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
            t.format(&fmt).unwrap_or_else(|_| secs.to_string())
        }
        Err(_) => secs.to_string(),
    }
}

/// Parses RFC 3339 (`2019-09-08T17:24:11Z`, offsets allowed) to unix seconds.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Cuts user input to a length fit for an error message.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_the_seeds_show() {
        assert_eq!(format_time(1567963451), "2019-09-08T17:24:11Z");
        assert_eq!(parse_time("2019-09-08T17:24:11Z"), Some(1567963451));
        assert_eq!(parse_time("2019-09-08T19:24:11+02:00"), Some(1567963451));
    }
}
