//! Stop sequences, emulated: the backend has no `stop` parameter, so the answer's text is
//! scanned as it streams and cut at the first match (docs/compatibility.md, stop sequences).
//!
//! Only as many characters as the longest sequence minus one are held back at any time, so
//! nothing past a match is ever sent and nothing else is delayed more than that. Pure.

/// What a piece of streamed text comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Text that can be sent now (perhaps empty: all of it is held back).
    Pass(String),
    /// A stop sequence matched: send `before`, then end the answer.
    Stop { before: String, sequence: String },
}

/// Scans one text block for the first stop sequence.
#[derive(Debug, Clone)]
pub(crate) struct StopScanner {
    sequences: Vec<String>,
    /// Characters that may be the start of a sequence: the longest sequence minus one.
    hold: usize,
    held: String,
}

impl StopScanner {
    /// A scanner for the non-empty `sequences`; `None` when there are none.
    pub(crate) fn new(sequences: &[String]) -> Option<Self> {
        let sequences: Vec<String> = sequences
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect();
        let longest = sequences.iter().map(|s| s.chars().count()).max()?;
        Some(Self {
            sequences,
            hold: longest - 1,
            held: String::new(),
        })
    }

    /// Feeds the next piece of text.
    pub(crate) fn feed(&mut self, text: &str) -> Scan {
        self.held.push_str(text);
        let first = self
            .sequences
            .iter()
            .filter_map(|sequence| Some((self.held.find(sequence.as_str())?, sequence)))
            .min_by_key(|(at, _)| *at);
        if let Some((at, sequence)) = first {
            let sequence = sequence.clone();
            let before = self.held[..at].to_owned();
            self.held.clear();
            return Scan::Stop { before, sequence };
        }
        // Keep the last `hold` characters: a sequence may start there.
        let keep_from = self
            .held
            .char_indices()
            .rev()
            .nth(self.hold.saturating_sub(1))
            .map_or(0, |(at, _)| at);
        let keep_from = if self.hold == 0 {
            self.held.len()
        } else {
            keep_from
        };
        let rest = self.held.split_off(keep_from);
        Scan::Pass(std::mem::replace(&mut self.held, rest))
    }

    /// The block ended without a match: the text still held back.
    pub(crate) fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn scanner(sequences: &[&str]) -> StopScanner {
        StopScanner::new(
            &sequences
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    fn pass(text: &str) -> Scan {
        Scan::Pass(text.to_owned())
    }

    #[test]
    fn no_sequences_means_no_scanner() {
        assert!(StopScanner::new(&[]).is_none());
        assert!(StopScanner::new(&[String::new()]).is_none());
    }

    #[test]
    fn a_one_character_sequence_holds_nothing_back() {
        let mut s = scanner(&["K"]);
        assert_eq!(s.feed("Hello "), pass("Hello "));
        assert_eq!(
            s.feed("OK then"),
            Scan::Stop {
                before: "O".to_owned(),
                sequence: "K".to_owned()
            }
        );
    }

    #[test]
    fn a_sequence_split_across_deltas_is_caught_and_only_its_length_minus_one_is_held() {
        let mut s = scanner(&["Observation:"]);
        // 25 characters in: the last 11 are held ("Observation:" has 12).
        assert_eq!(s.feed("Thought: look it up\nObser"), pass("Thought: look "));
        assert_eq!(
            s.feed("vation: 42"),
            Scan::Stop {
                before: "it up\n".to_owned(),
                sequence: "Observation:".to_owned()
            }
        );
    }

    #[test]
    fn the_earliest_match_wins_and_held_text_is_released_at_the_end() {
        let mut s = scanner(&["world", "lo"]);
        assert_eq!(
            s.feed("Hello world"),
            Scan::Stop {
                before: "Hel".to_owned(),
                sequence: "lo".to_owned()
            }
        );
        let mut s = scanner(&["STOP"]);
        assert_eq!(s.feed("héllo wörld"), pass("héllo wö"));
        assert_eq!(s.flush(), "rld");
        assert_eq!(s.flush(), "");
    }

    #[test]
    fn multibyte_text_is_cut_on_character_boundaries() {
        let mut s = scanner(&["😀😀"]);
        assert_eq!(s.feed("ab😀"), pass("ab"));
        assert_eq!(
            s.feed("😀c"),
            Scan::Stop {
                before: String::new(),
                sequence: "😀😀".to_owned()
            }
        );
    }
}
