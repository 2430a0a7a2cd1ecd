//! Wall-clock timestamps for folder names and records (UTC, no time-zone database needed).
use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYY-MM-DD_HH-MM-SS` (UTC), the name of a new run or sweep folder.
pub fn folder_name_now() -> String {
    let (y, mo, d, h, mi, s) = civil_now();
    format!("{y:04}-{mo:02}-{d:02}_{h:02}-{mi:02}-{s:02}")
}

/// RFC 3339 timestamp (UTC), for records.
pub fn rfc3339_now() -> String {
    let (y, mo, d, h, mi, s) = civil_now();
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn civil_now() -> (i64, u32, u32, u32, u32, u32) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    civil_from_unix(secs)
}

/// Converts Unix seconds to (year, month, day, hour, minute, second) in UTC (Howard Hinnant's days-from-civil
/// algorithm, inverted).
fn civil_from_unix(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::civil_from_unix;

    #[test]
    fn known_dates() {
        assert_eq!(civil_from_unix(0), (1970, 1, 1, 0, 0, 0));
        // 2026-11-25T18:53:49Z
        assert_eq!(civil_from_unix(1_795_632_829), (2026, 11, 25, 18, 53, 49));
        // 2000-02-29T12:00:00Z (leap day)
        assert_eq!(civil_from_unix(951_825_600), (2000, 2, 29, 12, 0, 0));
    }
}
