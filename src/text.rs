//! Comma-separated lists in the settings' text forms (levels, RGB colours,
//! fusion weights): one way to read and write them.

use std::fmt::Display;
use std::str::FromStr;

/// `a,b,c` read as values of `T` (spaces around each allowed); `None` when
/// any part does not parse.
pub(crate) fn parse_list<T: FromStr>(text: &str) -> Option<Vec<T>> {
    text.split(',').map(|v| v.trim().parse().ok()).collect()
}

/// Values joined by commas, each in its shortest form that reads back
/// (`Display` of the number types).
pub(crate) fn join_list<T: Display>(values: &[T]) -> String {
    values
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lists_read_and_refuse() {
        assert_eq!(parse_list::<usize>(" 10, 25 ,50"), Some(vec![10, 25, 50]));
        assert_eq!(parse_list::<usize>("10,,50"), None);
        assert_eq!(parse_list::<f32>("0.5,x"), None);
        assert_eq!(join_list(&[1.0f64, 0.25]), "1,0.25");
    }

    proptest! {
        #[test]
        fn joined_lists_read_back(v in proptest::collection::vec(proptest::num::f64::NORMAL, 1..8)) {
            prop_assert_eq!(parse_list::<f64>(&join_list(&v)), Some(v));
        }
    }
}
