//! Numbers printed the way the reference scorer prints them, so that our text output can be compared
//! with its output line by line (and our tests can compare counts to the last digit it prints).

/// `x` as Perl stringifies a floating-point number: C's `%.15g` (15 significant digits, trailing zeros
/// dropped, exponent form below 1e-4 and from 1e15 on). Integral counts print as integers (`2959`),
/// fractional ones as the reference prints them (`3815.66666666667`).
pub fn perl_number(x: f64) -> String {
    const PRECISION: i32 = 15;
    if x == 0.0 {
        return "0".to_string();
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".to_string()
        } else if x > 0.0 {
            "Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    // The exponent of the value once rounded to PRECISION significant digits.
    let scientific = format!("{:.*e}", (PRECISION - 1) as usize, x);
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..PRECISION).contains(&exponent) {
        let mantissa = strip_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else {
        let decimals = (PRECISION - 1 - exponent) as usize;
        strip_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

/// A ratio as the reference prints percentages: `int(x * 10000) / 100`, i.e. truncated (not rounded)
/// to two decimals, then printed by [`perl_number`] (`99.93`, `100`, `88.88`).
pub fn perl_percent(x: f64) -> String {
    perl_number((x * 10000.0).trunc() / 100.0)
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_perl() {
        // Values printed by scorer.pl v8.01 on OntoGUM dev against itself.
        assert_eq!(perl_number(2959.0), "2959");
        assert_eq!(perl_number(3815.0 + 2.0 / 3.0), "3815.66666666667");
        assert_eq!(perl_number(856.8), "856.8");
        assert_eq!(perl_number(0.999826558529851), "0.999826558529851");
        assert_eq!(perl_number(1.0), "1");
        assert_eq!(perl_number(0.0), "0");
        assert_eq!(perl_number(-2.5), "-2.5");
        // Exponent forms, as C's %g.
        assert_eq!(perl_number(0.00001234), "1.234e-05");
        assert_eq!(perl_number(1e15), "1e+15");
        assert_eq!(perl_number(123456789012345.0), "123456789012345");
        // Rounding that carries into a new digit.
        assert_eq!(perl_number(9.9999999999999999), "10");
        assert_eq!(perl_number(0.1 + 0.2), "0.3");
    }

    #[test]
    fn percentages_truncate() {
        // 2959/2961 = 0.99932455... → 99.93; 2/3 → 66.66 (not 66.67); 1 → 100.
        assert_eq!(perl_percent(2959.0 / 2961.0), "99.93");
        assert_eq!(perl_percent(2.0 / 3.0), "66.66");
        assert_eq!(perl_percent(1.0), "100");
        assert_eq!(perl_percent(0.0), "0");
        assert_eq!(perl_percent(0.8), "80");
    }
}
