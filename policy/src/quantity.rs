//! Kubernetes resource quantities (`10Gi`, `500M`, `1.5e3`), as `resource.ParseQuantity` reads
//! them, compared by value: what a volume policy's `capacity` condition needs.

use std::cmp::Ordering;
use std::fmt;

/// A quantity's value in units of 10⁻⁹ (what Kubernetes calls nano), saturated at the bounds of
/// `i128`: exact for every size a volume can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(i128);

const NANOS_EXPONENT: i32 = 9;

impl Quantity {
    pub const ZERO: Self = Self(0);

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `resource.ParseQuantity`: a signed decimal number (`5`, `1.5`, `.5`, `5.`) and one suffix,
    /// binary (`Ki` … `Ei`), decimal (`n`, `u`, `m`, none, `k`, `M`, `G`, `T`, `P`, `E`) or an
    /// exponent (`e3`, `E-2`). Surrounding blanks are not allowed (callers trim, as Velero does).
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || format!("{text:?} is not a Kubernetes quantity (e.g. \"10Gi\", \"500M\")");
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(invalid());
        }
        let (decimal_exponent, binary_exponent) = match suffix {
            "" => (0, 0),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            exponent if exponent.starts_with(['e', 'E']) => {
                let signed = &exponent[1..];
                let unsigned = signed.strip_prefix(['+', '-']).unwrap_or(signed);
                if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid());
                }
                let value: i32 = unsigned.parse().map_err(|_| invalid())?;
                (
                    if signed.starts_with('-') {
                        -value
                    } else {
                        value
                    },
                    0,
                )
            }
            _ => return Err(invalid()),
        };
        let mut mantissa: i128 = 0;
        let mut saturated = false;
        for digit in whole.bytes().chain(fraction.bytes()) {
            match mantissa
                .checked_mul(10)
                .and_then(|value| value.checked_add(i128::from(digit - b'0')))
            {
                Some(value) => mantissa = value,
                None => saturated = true,
            }
        }
        let fraction_digits = i32::try_from(fraction.len()).map_err(|_| invalid())?;
        let exponent = decimal_exponent
            .saturating_add(NANOS_EXPONENT)
            .saturating_sub(fraction_digits);
        let mut value = if saturated {
            i128::MAX
        } else {
            scale_decimal(mantissa, exponent)
        };
        value = value.saturating_mul(1i128 << binary_exponent);
        Ok(Self(if negative { -value } else { value }))
    }
}

/// `mantissa × 10^exponent`, truncated toward zero and saturated.
fn scale_decimal(mantissa: i128, exponent: i32) -> i128 {
    match exponent.cmp(&0) {
        Ordering::Equal => mantissa,
        Ordering::Greater => (0..exponent)
            .try_fold(mantissa, |value, _| value.checked_mul(10))
            .unwrap_or(if mantissa == 0 { 0 } else { i128::MAX }),
        Ordering::Less => (0..-exponent).fold(mantissa, |value, _| value / 10),
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NANOS: i128 = 1_000_000_000;
        const GI: i128 = (1 << 30) * NANOS;
        if self.0 != 0 && self.0 % GI == 0 {
            write!(f, "{}Gi", self.0 / GI)
        } else if self.0 % NANOS == 0 {
            write!(f, "{}", self.0 / NANOS)
        } else {
            write!(f, "{}n", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(text: &str) -> i128 {
        Quantity::parse(text).unwrap().0 / 1_000_000_000
    }

    #[test]
    fn reads_binary_decimal_and_exponent_suffixes() {
        assert_eq!(bytes("10Gi"), 10 << 30);
        assert_eq!(bytes("1Ki"), 1024);
        assert_eq!(bytes("500M"), 500_000_000);
        assert_eq!(bytes("1.5Gi"), 3 << 29);
        assert_eq!(bytes("1e3"), 1000);
        assert_eq!(bytes("1E+3"), 1000);
        assert_eq!(bytes("100"), 100);
        assert_eq!(bytes(".5k"), 500);
        assert_eq!(Quantity::parse("500m").unwrap().0, 500_000_000);
        assert_eq!(Quantity::parse("-1").unwrap().0, -1_000_000_000);
    }

    #[test]
    fn refuses_what_parse_quantity_refuses() {
        for text in [
            "", "Gi", "10GB", "10 Gi", "1.2.3", "e3", "1e", "10gi", "abc",
        ] {
            assert!(Quantity::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn compares_by_value_across_suffixes() {
        let parse = |text| Quantity::parse(text).unwrap();
        assert_eq!(parse("1Gi"), parse("1073741824"));
        assert!(parse("1G") < parse("1Gi"));
        assert!(parse("10Gi") > parse("9999Mi"));
    }
}
