//! Durations as people write them in headers, config files and flags:
//! `500ms`, `5s`, `10min`, `2h` (and `m` for minutes, as in `wait --timeout 5m`).

use std::time::Duration;

/// A duration that does not read as a number and a unit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a duration: write a whole number and a unit, such as 500ms, 5s, 10min or 2h")]
pub struct BadDuration(pub String);

/// Reads `text` as a whole number followed by `ms`, `s`, `m`/`min` or `h`
/// (spaces between them allowed). A bare number is refused: the unit is
/// what a reader of the header needs.
pub fn parse(text: &str) -> Result<Duration, BadDuration> {
    let bad = || BadDuration(text.trim().to_owned());
    let t = text.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = t.split_at(digits);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let ms = match unit.trim() {
        "ms" => Some(n),
        "s" | "sec" => n.checked_mul(1_000),
        "m" | "min" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => None,
    }
    .ok_or_else(bad)?;
    Ok(Duration::from_millis(ms))
}

/// Writes `d` in the largest unit that keeps it whole: `5s`, `10min`, `1500ms`.
pub fn display(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0 => "0ms".to_owned(),
        _ if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        _ if ms % 60_000 == 0 => format!("{}min", ms / 60_000),
        _ if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        _ => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_and_write_back() {
        for (text, ms, shown) in [
            ("500ms", 500, "500ms"),
            ("5s", 5_000, "5s"),
            (" 10min ", 600_000, "10min"),
            ("5m", 300_000, "5min"),
            ("2 h", 7_200_000, "2h"),
            ("90s", 90_000, "90s"),
        ] {
            let d = parse(text).unwrap();
            assert_eq!(d, Duration::from_millis(ms), "{text}");
            assert_eq!(display(d), shown);
        }
    }

    #[test]
    fn numbers_without_units_and_other_words_are_refused() {
        for text in ["5", "", "s", "5 seconds", "-5s", "1.5s", "5d", "99999999999999999999h"] {
            assert_eq!(parse(text), Err(BadDuration(text.trim().to_owned())), "{text}");
        }
    }
}
