//! The Prometheus remote-write 1.0 body (spec 10 §8.4).
//!
//! The four messages are declared by hand rather than generated: they are tiny, frozen by
//! the protocol, and this keeps protoc and a build script out of the build.

use prost::Message;

/// One sample to push. Labels are given in any order and may have empty values, so
/// callers can build them straight from their own records; [`encode`] normalises them.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Includes `("__name__", metric)`.
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: i64,
}

#[derive(Clone, PartialEq, Message)]
struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Message)]
struct Label {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, Message)]
struct Sample {
    #[prost(double, tag = "1")]
    value: f64,
    #[prost(int64, tag = "2")]
    timestamp: i64,
}

/// Prometheus rejects unsorted labels and treats an empty value as an absent label, so
/// both rules are applied here once instead of by every caller. The body is raw (block)
/// snappy because that is what the receiver decodes; the framed format is refused.
pub fn encode(series: &[Series]) -> Vec<u8> {
    let request = WriteRequest {
        timeseries: series.iter().map(time_series).collect(),
    };
    // Raw snappy only refuses inputs over 4 GiB, far beyond any certificate listing; an
    // empty body would then be refused by the server and reported by the push.
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap_or_default()
}

fn time_series(series: &Series) -> TimeSeries {
    let mut labels: Vec<Label> = series
        .labels
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| Label {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    TimeSeries {
        labels,
        samples: vec![Sample {
            value: series.value,
            timestamp: series.timestamp_ms,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &[u8]) -> WriteRequest {
        let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
        WriteRequest::decode(raw.as_slice()).unwrap()
    }

    fn label(name: &str, value: &str) -> Label {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }

    fn pairs(labels: &[(&str, &str)]) -> Vec<(String, String)> {
        labels
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn labels_are_sorted_and_empty_values_dropped() {
        let series = [
            Series {
                labels: pairs(&[
                    ("scope", "ca"),
                    ("__name__", "maand_cert_expired"),
                    ("job", ""),
                    ("cert", "ca"),
                ]),
                value: 0.0,
                timestamp_ms: 1_700_000_000_123,
            },
            Series {
                labels: pairs(&[
                    ("worker", "10.0.0.1"),
                    ("__name__", "maand_cert_not_after_seconds"),
                ]),
                value: 1.8e9,
                timestamp_ms: 1_700_000_000_123,
            },
        ];
        let got = decode(&encode(&series));
        let want = WriteRequest {
            timeseries: vec![
                TimeSeries {
                    labels: vec![
                        label("__name__", "maand_cert_expired"),
                        label("cert", "ca"),
                        label("scope", "ca"),
                    ],
                    samples: vec![Sample {
                        value: 0.0,
                        timestamp: 1_700_000_000_123,
                    }],
                },
                TimeSeries {
                    labels: vec![
                        label("__name__", "maand_cert_not_after_seconds"),
                        label("worker", "10.0.0.1"),
                    ],
                    samples: vec![Sample {
                        value: 1.8e9,
                        timestamp: 1_700_000_000_123,
                    }],
                },
            ],
        };
        assert_eq!(got, want);
    }

    #[test]
    fn wire_bytes_match_the_remote_write_schema() {
        let series = [Series {
            labels: pairs(&[("a", "b")]),
            value: 1.0,
            timestamp_ms: 2,
        }];
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&encode(&series))
            .unwrap();
        #[rustfmt::skip]
        let want = [
            0x0a, 21,                               // WriteRequest.timeseries, 21 bytes
            0x0a, 6,                                // TimeSeries.labels, 6 bytes
            0x0a, 1, b'a', 0x12, 1, b'b',           // Label name "a", value "b"
            0x12, 11,                               // TimeSeries.samples, 11 bytes
            0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,     // Sample.value, double 1.0 little-endian
            0x10, 2,                                // Sample.timestamp, varint 2
        ];
        assert_eq!(raw, want);
    }

    #[test]
    fn body_is_raw_snappy_not_framed() {
        let body = encode(&[]);
        // The framed format starts with a stream identifier chunk (0xff "sNaPpY").
        assert_ne!(body.first(), Some(&0xff));
        assert_eq!(decode(&body), WriteRequest::default());
    }
}
