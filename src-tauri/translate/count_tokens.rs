//! Local token count of a translated request with the o200k_base encoding, for
//! `POST /v1/messages/count_tokens` and the `message_start` estimate (docs/compatibility.md §7).
//! Never calls the backend (it has no counting endpoint and every call costs quota). No I/O, no
//! clock.
//!
//! Counted: `instructions`, every text part, function call names and arguments, function call
//! outputs, reasoning summaries, and each tool's name, description and JSON schema; plus a small
//! framing overhead per item and per tool, and a fixed cost per image and per file (their real
//! cost depends on sizes the gateway does not decode). Encrypted reasoning is opaque and not
//! counted.
//!
//! The tokenizer is codexia's compact o200k counter (`o200k.rs`): tiktoken's counts with about
//! 8 MB resident instead of 43 MB, loaded on the first count.
//!
//! Claude Code sends the whole conversation again on every turn, so a [`TokenCounter`] remembers
//! the count of each text it has counted, keyed by a hash of its bytes, in a cache bounded in
//! memory (the texts not used for longest go first, [`Memo`]): turn N+1 only counts what turn N
//! did not have. A count is a function of the text alone, so the total is exactly the full count.
//! A text that is still the client's JSON literal ([`JsonText`]) is remembered by a hash of the
//! literal: a turn whose texts were all seen unescapes none of them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{LazyLock, Mutex, PoisonError};

use crate::protocol::json_text::{Identity, JsonText};
use crate::protocol::responses::{ContentPart, FunctionOutput, InputItem, ResponsesRequest, Tool};

/// Framing tokens per input item (role, separators), as OpenAI's chat accounting does.
const PER_ITEM: u64 = 4;
/// Framing tokens per tool definition.
const PER_TOOL: u64 = 8;
/// A typical image (OpenAI: 85 base + 170 per 512-px tile; ~4 tiles for screenshots).
const PER_IMAGE: u64 = 765;
/// A file part without decoding it: a fixed base plus its size.
const PER_FILE: u64 = 1_000;

/// Memory budget of the shared cache: about 40,000 texts, far more than the blocks of the
/// longest conversations of a few concurrent sessions.
pub(crate) const CACHE_BUDGET_BYTES: usize = 2 * 1024 * 1024;
/// What one remembered text costs at most: a 24-byte slot and its control byte in a table at
/// least 7/16 full (a table doubles once it is 7/8 full), rounded up.
const ENTRY_BYTES: usize = 48;
/// Shorter texts are counted each time (tool names, ids): counting them costs about as much as
/// a lookup.
const MIN_CACHED_LEN: usize = 32;
/// Mixed into the seed for the hashes of escaped literals (any odd constant).
const LITERAL_SEED: u64 = 0xA076_1D64_78BD_642F;

/// o200k_base tokens of a text (not cached).
pub(crate) fn count_text(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    super::o200k::count(text) as u64
}

/// Whether the tokenizer's tables are loaded (the first count loads them, some 20 ms): until
/// then a count is never run where it would hold up other work.
pub(crate) fn tokenizer_loaded() -> bool {
    super::o200k::is_loaded()
}

/// Frees the scratch space that counts not running now have left (about 1.5 MB each after a
/// long text: the pre-tokenizer's search cache and the counts of recent pieces). The tables and
/// the memo stay; the next count only starts with cold caches. The gateway calls it once
/// counting has paused. Returns how many scratch spaces were freed.
pub(crate) fn release_tokenizer_scratch() -> usize {
    super::o200k::release_scratch()
}

/// o200k_base tokens of a text with the pre-tokenizer's regex alone (the count before the ASCII
/// scanner, for the benchmark): the same number as [`count_text`].
pub(crate) fn count_text_regex_only(text: &str) -> u64 {
    super::o200k::count_regex_only(text) as u64
}

/// Input tokens of a translated request, counted in full without a cache (the reference the
/// cached count must equal; [`TokenCounter::count_request`] is what the gateway uses).
pub(crate) fn count_request_tokens(request: &ResponsesRequest) -> u64 {
    count_request_with(request, &mut count_text)
}

/// A cheap estimate of the input tokens without the tokenizer (about four bytes of text a
/// token; a literal's bytes stand in for its text's), for the moment before the exact count is
/// ready.
pub(crate) fn estimate_request_tokens(request: &ResponsesRequest) -> u64 {
    walk_request(request, &mut |text| (text.len_hint() as u64).div_ceil(4))
}

/// The token count of a request with another count of each text (`count`), plus the framing
/// and the fixed costs of images and files: what the benchmarks compare tokenizers with.
pub(crate) fn count_request_with(
    request: &ResponsesRequest,
    count: &mut impl FnMut(&str) -> u64,
) -> u64 {
    walk_request(request, &mut |text| count(&text.text()))
}

/// One text of a request as a count meets it.
#[derive(Clone, Copy)]
enum RequestText<'a> {
    Plain(&'a str),
    /// Possibly still the client's literal.
    Json(&'a JsonText),
}

impl RequestText<'_> {
    /// The text (a literal is unescaped for the occasion, not kept).
    fn text(&self) -> Cow<'_, str> {
        match self {
            Self::Plain(text) => Cow::Borrowed(text),
            Self::Json(text) => text.unescaped(),
        }
    }

    /// The text's length in bytes, or its literal's.
    fn len_hint(&self) -> usize {
        match self {
            Self::Plain(text) => text.len(),
            Self::Json(text) => text.len_hint(),
        }
    }
}

/// The rules of the count: every text of `request` counted by `count`, plus the framing and the
/// fixed costs of images and files.
fn walk_request(request: &ResponsesRequest, count: &mut impl FnMut(RequestText<'_>) -> u64) -> u64 {
    let mut total = count(RequestText::Plain(&request.instructions)) + PER_ITEM;
    for item in &request.input {
        total += PER_ITEM;
        total += match item {
            InputItem::Message { content, .. } => walk_parts(content, count),
            InputItem::FunctionCall {
                name, arguments, ..
            } => count(RequestText::Plain(name)) + count(RequestText::Plain(arguments)),
            InputItem::FunctionCallOutput { output, .. } => match output {
                FunctionOutput::Text(text) => count(RequestText::Json(text)),
                FunctionOutput::Parts(parts) => walk_parts(parts, count),
            },
            InputItem::Reasoning { summary, .. } => summary
                .iter()
                .map(|part| count(RequestText::Plain(&part.text)))
                .sum(),
        };
    }
    for tool in &request.tools {
        let Tool::Function {
            name,
            description,
            parameters,
            ..
        } = tool
        else {
            total += PER_TOOL;
            continue;
        };
        total += PER_TOOL
            + count(RequestText::Plain(name))
            + description
                .as_ref()
                .map_or(0, |text| count(RequestText::Json(text)))
            + count(RequestText::Plain(&parameters.to_string()));
    }
    total
}

fn walk_parts(parts: &[ContentPart], count: &mut impl FnMut(RequestText<'_>) -> u64) -> u64 {
    parts
        .iter()
        .map(|part| match part {
            ContentPart::InputText { text } | ContentPart::OutputText { text, .. } => {
                count(RequestText::Json(text))
            }
            ContentPart::Refusal { refusal } => count(RequestText::Plain(refusal)),
            ContentPart::InputImage { .. } => PER_IMAGE,
            // Base64 is 4 characters per 3 bytes; ~4 bytes of document text per token.
            ContentPart::InputFile { file_data, .. } => {
                PER_FILE + (file_data.len() as u64) * 3 / 16
            }
        })
        .sum()
}

/// Counts requests, remembering the count of every text of [`MIN_CACHED_LEN`] bytes or more by
/// a 128-bit hash of its bytes (seeded per process, so nobody can aim a collision at it), in a
/// [`Memo`] bounded by a memory budget. Shared by concurrent requests: the lock is held for
/// lookups and inserts only, never while counting.
pub(crate) struct TokenCounter {
    cache: Mutex<Memo>,
    seed: u64,
}

/// A text's key: its 128-bit hash, as two words (8-byte aligned, so a table slot with its count
/// takes 24 bytes, not 32). The words are already uniform: the table hashes the first alone.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key(u64, u64);

impl std::hash::Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// Passes a [`Key`]'s first word through as its hash.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Keys only call `write_u64`; anything else is folded in all the same.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = word;
    }
}

type Table = HashMap<Key, u32, BuildHasherDefault<KeyHasher>>;

/// Token counts by key, in two generations: new and used texts go to `young`; once it holds
/// half the capacity, `old` is dropped and `young` becomes `old`. A text used since the last
/// turn-over is found in `young` (or moved there from `old`), so what is dropped is what was not
/// used for longest, as in an LRU, without a list node per entry: at most `capacity` entries in
/// two flat tables that grow as they fill.
struct Memo {
    young: Table,
    old: Table,
    half: usize,
}

impl Memo {
    fn new(capacity: usize) -> Self {
        Self {
            young: Table::default(),
            old: Table::default(),
            half: (capacity / 2).max(1),
        }
    }

    fn get(&mut self, key: Key) -> Option<u64> {
        if let Some(&tokens) = self.young.get(&key) {
            return Some(u64::from(tokens));
        }
        let tokens = self.old.remove(&key)?;
        self.put(key, u64::from(tokens));
        Some(u64::from(tokens))
    }

    fn put(&mut self, key: Key, tokens: u64) {
        // A text of more than 4 billion tokens is not remembered (it cannot fit in a request).
        let Ok(tokens) = u32::try_from(tokens) else {
            return;
        };
        if self.young.len() >= self.half {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, tokens);
    }

    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCounter")
            .field("entries", &self.entries())
            .finish_non_exhaustive()
    }
}

static SHARED: LazyLock<TokenCounter> = LazyLock::new(|| TokenCounter::new(CACHE_BUDGET_BYTES));

impl TokenCounter {
    /// A counter whose cache takes at most about `budget_bytes`.
    pub(crate) fn new(budget_bytes: usize) -> Self {
        Self {
            cache: Mutex::new(Memo::new(budget_bytes / ENTRY_BYTES)),
            // Without randomness the hash is still a good one; only its seed is predictable.
            seed: getrandom::u64().unwrap_or(0x9E37_79B9_7F4A_7C15),
        }
    }

    /// The process's counter ([`CACHE_BUDGET_BYTES`]): one memo of the tokenizer, like its
    /// tables, for every route and session of the gateway.
    pub(crate) fn shared() -> &'static Self {
        &SHARED
    }

    /// Input tokens of a translated request: exactly [`count_request_tokens`], counting only
    /// the texts this counter has not seen.
    pub(crate) fn count_request(&self, request: &ResponsesRequest) -> u64 {
        walk_request(request, &mut |text| self.count_text(text))
    }

    /// Texts remembered.
    pub(crate) fn entries(&self) -> usize {
        self.lock().len()
    }

    fn count_text(&self, text: RequestText<'_>) -> u64 {
        // A literal with escapes is hashed with another seed: its bytes may equal another
        // text's own bytes.
        let (bytes, seed) = match text {
            RequestText::Plain(plain) => (plain, self.seed),
            RequestText::Json(json) => match json.identity() {
                Identity::Text(plain) => (plain, self.seed),
                Identity::Literal(literal) => (literal, self.seed ^ LITERAL_SEED),
            },
        };
        if bytes.len() < MIN_CACHED_LEN {
            return count_text(&text.text());
        }
        let hash = xxhash_rust::xxh3::xxh3_128_with_seed(bytes.as_bytes(), seed);
        #[allow(clippy::cast_possible_truncation, reason = "the hash's two halves")]
        let key = Key(hash as u64, (hash >> 64) as u64);
        if let Some(tokens) = self.lock().get(key) {
            return tokens;
        }
        let tokens = count_text(&text.text());
        self.lock().put(key, tokens);
        tokens
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memo> {
        // The cache holds plain numbers: a panic elsewhere cannot leave it inconsistent.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::responses::{Role, SummaryPart, ToolChoice};
    use pretty_assertions::assert_eq;
    use serde_json::json;
    use serde_json::value::RawValue;

    fn request(input: Vec<InputItem>, tools: Vec<Tool>) -> ResponsesRequest {
        ResponsesRequest {
            model: "gpt-5.5".into(),
            instructions: "You are terse.".into(),
            input,
            tools,
            tool_choice: ToolChoice::auto(),
            parallel_tool_calls: true,
            reasoning: None,
            store: false,
            stream: true,
            include: Vec::new(),
            prompt_cache_key: None,
            text: None,
            service_tier: None,
        }
    }

    /// The reference: tiktoken-rs's o200k_base, as codexia counted before.
    fn tiktoken(text: &str) -> u64 {
        tiktoken_rs::o200k_base_singleton()
            .encode_ordinary(text)
            .len() as u64
    }

    fn tiktoken_request(request: &ResponsesRequest) -> u64 {
        count_request_with(request, &mut tiktoken)
    }

    #[test]
    fn text_is_counted_with_o200k() {
        assert_eq!(count_text("hello world"), 2);
        assert_eq!(count_text(""), 0);
    }

    #[test]
    fn every_part_of_the_request_counts() {
        let bare = count_request_tokens(&request(Vec::new(), Vec::new()));
        assert_eq!(bare, count_text("You are terse.") + PER_ITEM);
        let with_tools = count_request_tokens(&request(
            vec![
                InputItem::Message {
                    role: Role::User,
                    content: vec![ContentPart::InputText {
                        text: "hello world".into(),
                    }],
                    id: None,
                    status: None,
                },
                InputItem::FunctionCall {
                    id: None,
                    call_id: "c".into(),
                    name: "Bash".into(),
                    arguments: "{\"command\":\"ls\"}".into(),
                },
                InputItem::FunctionCallOutput {
                    call_id: "c".into(),
                    output: FunctionOutput::Parts(vec![ContentPart::InputImage {
                        image_url: "data:image/png;base64,AAAA".into(),
                        detail: "auto".into(),
                    }]),
                },
            ],
            vec![Tool::Function {
                name: "Bash".into(),
                description: Some("Run a command".into()),
                parameters: json!({"type": "object"}),
                strict: false,
            }],
        ));
        let expected = bare
            + 3 * PER_ITEM
            + 2
            + count_text("Bash")
            + count_text("{\"command\":\"ls\"}")
            + PER_IMAGE
            + PER_TOOL
            + count_text("Bash")
            + count_text("Run a command")
            + count_text("{\"type\":\"object\"}");
        assert_eq!(with_tools, expected);
    }

    /// Texts that stress the pre-tokenizer: whitespace runs before words and at the end,
    /// contractions, digits, CJK, emoji, combining marks, CRLF, code.
    const AWKWARD: &[&str] = &[
        "  leading and trailing  ",
        "tabs\t\tand\n\n\nnewlines\r\n\r\n",
        "I'm sure they'll've done it, DON'T YOU'D?",
        "1234567890 12 123 1234 3.14159 -42",
        "日本語のテキストと English mixed 中文",
        "emoji 👩‍👩‍👧‍👦 and 🇫🇷 flags",
        "e\u{301}te\u{301} cafe\u{301} Å",
        "fn main() {\n    println!(\"{}\", 1 + 2);\n}\n",
        "    indented\n        more\n",
        "trailing spaces   ",
        "   ",
        "\n",
        "a",
    ];

    #[test]
    fn awkward_texts_count_as_tiktoken_counts_them() {
        for text in AWKWARD {
            assert_eq!(count_text(text), tiktoken(text), "{text:?}");
        }
        let long = AWKWARD.concat().repeat(50);
        assert_eq!(count_text(&long), tiktoken(&long));
    }

    /// A small deterministic generator (xorshift), so a failure can be replayed from its seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap()
        }

        /// A text of pieces drawn from [`AWKWARD`] and random words, often longer than the
        /// cache threshold.
        fn text(&mut self) -> String {
            let mut out = String::new();
            for _ in 0..self.below(40) {
                if self.below(3) == 0 {
                    out.push_str(AWKWARD[self.below(AWKWARD.len())]);
                } else {
                    for _ in 0..=self.below(12) {
                        out.push(char::from(b'a' + u8::try_from(self.below(26)).unwrap()));
                    }
                    out.push([' ', ' ', '\n', ',', '.'][self.below(5)]);
                }
            }
            out
        }

        /// One of `texts`, as text or as the JSON literal a client sent (escaped by serde_json
        /// or, as some clients do, with every non-ASCII character as `\u` escapes).
        fn json_text(&mut self, texts: &[String]) -> JsonText {
            let text = &texts[self.below(texts.len())];
            let literal = match self.below(3) {
                0 => return text.as_str().into(),
                1 => serde_json::to_string(text).unwrap(),
                _ => {
                    let mut literal = String::from("\"");
                    for unit in text.encode_utf16() {
                        match char::from_u32(unit.into()) {
                            Some(c) if c.is_ascii() && c != '"' && c != '\\' && c >= ' ' => {
                                literal.push(c);
                            }
                            _ => literal.push_str(&format!("\\u{unit:04x}")),
                        }
                    }
                    literal.push('"');
                    literal
                }
            };
            let text = JsonText::from_raw(RawValue::from_string(literal).unwrap()).unwrap();
            assert_eq!(&*text, texts.iter().find(|t| **t == *text).unwrap());
            text
        }

        fn item(&mut self, texts: &[String]) -> InputItem {
            let text = texts[self.below(texts.len())].clone();
            match self.below(4) {
                0 => InputItem::Message {
                    role: Role::User,
                    content: vec![
                        ContentPart::InputText {
                            text: self.json_text(texts),
                        },
                        ContentPart::InputText {
                            text: self.json_text(texts),
                        },
                    ],
                    id: None,
                    status: None,
                },
                1 => InputItem::Message {
                    role: Role::Assistant,
                    content: vec![ContentPart::OutputText {
                        text: self.json_text(texts),
                        annotations: Vec::new(),
                    }],
                    id: None,
                    status: None,
                },
                2 => InputItem::FunctionCallOutput {
                    call_id: "c".into(),
                    output: FunctionOutput::Text(self.json_text(texts)),
                },
                _ => InputItem::Reasoning {
                    id: None,
                    summary: vec![SummaryPart {
                        kind: "summary_text".into(),
                        text,
                    }],
                    encrypted_content: None,
                },
            }
        }
    }

    /// Random conversations that grow turn by turn and repeat texts, as Claude Code's do,
    /// counted by one counter with a cache small enough to evict: every total equals a full
    /// tiktoken count of the same request, whether the texts are text or literals.
    #[test]
    fn cached_counts_equal_full_counts_on_random_conversations() {
        let counter = TokenCounter::new(20 * ENTRY_BYTES);
        for seed in 1..=12_u64 {
            let mut rng = Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D));
            let texts: Vec<String> = (0..30).map(|_| rng.text()).collect();
            let mut conversation = request(Vec::new(), Vec::new());
            conversation.instructions = rng.text();
            for _turn in 0..8 {
                for _ in 0..=rng.below(4) {
                    conversation.input.push(rng.item(&texts));
                }
                let expected = tiktoken_request(&conversation);
                assert_eq!(
                    counter.count_request(&conversation),
                    expected,
                    "seed {seed}"
                );
                assert_eq!(count_request_tokens(&conversation), expected, "seed {seed}");
            }
        }
        assert!(counter.entries() <= 20, "the budget bounds the cache");
    }

    #[test]
    fn the_memo_forgets_the_texts_not_used_for_longest() {
        let mut memo = Memo::new(4);
        memo.put(Key(1, 0), 10);
        memo.put(Key(2, 0), 20);
        memo.put(Key(3, 0), 30);
        // 1 is used again; 2 is not.
        assert_eq!(memo.get(Key(1, 0)), Some(10));
        memo.put(Key(4, 0), 40);
        assert_eq!(
            memo.get(Key(2, 0)),
            None,
            "the text unused for longest went first"
        );
        assert_eq!(memo.get(Key(1, 0)), Some(10));
        assert_eq!(memo.get(Key(3, 0)), Some(30));
        assert_eq!(memo.get(Key(4, 0)), Some(40));
        // Keys that share their first word stay apart.
        memo.put(Key(4, 1), 41);
        assert_eq!(memo.get(Key(4, 1)), Some(41));
        assert_eq!(
            memo.get(Key(4, 0)),
            Some(40),
            "the other key kept its count"
        );
        assert!(memo.len() <= 4, "{} entries", memo.len());
    }

    #[test]
    fn a_second_count_of_the_same_request_is_answered_from_the_cache() {
        let counter = TokenCounter::new(CACHE_BUDGET_BYTES);
        let long = "word ".repeat(100);
        let turn = request(
            vec![InputItem::FunctionCallOutput {
                call_id: "c".into(),
                output: FunctionOutput::Text(long.clone().into()),
            }],
            Vec::new(),
        );
        let first = counter.count_request(&turn);
        assert_eq!(counter.entries(), 1, "the long output is remembered");
        assert_eq!(counter.count_request(&turn), first);
        assert_eq!(counter.entries(), 1);
        assert_eq!(first, tiktoken_request(&turn));
    }

    /// Every captured Claude Code turn, translated as `/v1/messages` translates it: the memo's
    /// count, cold and again warm, equals a full tiktoken count.
    #[test]
    fn cached_counts_equal_full_counts_on_the_captured_claude_code_turns() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude_code");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        names.sort();
        let models = crate::models::ModelMap::new(
            ["gpt-5.5".to_owned()],
            std::collections::BTreeMap::new(),
            Some("gpt-5.5".to_owned()),
        );
        let counter = TokenCounter::new(CACHE_BUDGET_BYTES);
        let mut turns = 0;
        for path in names {
            let capture: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let body: crate::protocol::anthropic::MessagesRequest =
                serde_json::from_value(capture["body"].clone()).unwrap();
            let (upstream, _) =
                crate::translate::messages_request::messages_to_responses(&body, &models, None)
                    .unwrap();
            let expected = tiktoken_request(&upstream);
            assert_eq!(counter.count_request(&upstream), expected, "{path:?}");
            assert_eq!(counter.count_request(&upstream), expected, "{path:?}, warm");
            turns += 1;
        }
        assert_eq!(turns, 5);
    }

    #[test]
    fn the_estimate_needs_no_tokenizer_and_is_in_the_right_range() {
        let turn = request(
            vec![InputItem::FunctionCallOutput {
                call_id: "c".into(),
                output: FunctionOutput::Text("The quick brown fox jumps. ".repeat(40).into()),
            }],
            Vec::new(),
        );
        let exact = count_request_tokens(&turn);
        let estimate = estimate_request_tokens(&turn);
        assert!(
            exact / 2 < estimate && estimate < exact * 2,
            "{estimate} vs {exact}"
        );
    }
}
