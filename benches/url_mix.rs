// The bench's URL mix, shared by `benches/url.rs` and `tests/url_mix_keys.rs` (through
// `include!`), so the committed key file of the mix is checked against the same list the bench
// times.

/// A small deterministic generator (xorshift), so every run keys the same list.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn id(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
    fn digits(&mut self, len: usize) -> String {
        let mut s = self.id(b"123456789", 1);
        s.push_str(&self.id(b"0123456789", len - 1));
        s
    }
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER36: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Builds the mix: about 60% platform items in many spellings, 10% wrapped or archived, 5% short
/// links, 25% generic news/blog URLs, most with tracking parameters.
pub fn generate_mix(n: usize) -> Vec<String> {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let tracking = [
        "",
        "",
        "&utm_source=twitter&utm_medium=social",
        "&fbclid=IwAR2x9QkLmN0pQr",
        "&si=AbCdEfGh12345678",
        "&gclid=Cj0KCQiA",
    ];
    let news = [
        "www.bbc.co.uk",
        "www.theguardian.com",
        "edition.cnn.com",
        "www.example-news.org",
        "blog.example.com",
        "www.nytimes.com",
        "medium.com",
    ];
    let words = [
        "world", "politics", "attack", "video", "live", "update", "report", "europe", "2024",
        "story",
    ];
    (0..n)
        .map(|_| {
            let t = r.pick(&tracking);
            match r.below(20) {
                0..=3 => {
                    let id = r.id(B64, 11);
                    match r.below(5) {
                        0 => format!("https://www.youtube.com/watch?v={id}{t}"),
                        1 => format!("https://youtu.be/{id}?si={}", r.id(ALNUM, 16)),
                        2 => format!("https://m.youtube.com/watch?v={id}&t={}s", r.below(600)),
                        3 => format!("https://www.youtube.com/shorts/{id}"),
                        _ => format!("youtube.com/embed/{id}?autoplay=1"),
                    }
                }
                4..=6 => {
                    let id = r.digits(19);
                    let user = r.id(ALNUM, 8);
                    match r.below(3) {
                        0 => format!(
                            "https://twitter.com/{user}/status/{id}?s=20&t={}",
                            r.id(ALNUM, 22)
                        ),
                        1 => format!("https://x.com/{user}/status/{id}"),
                        _ => format!("https://mobile.twitter.com/{user}/status/{id}/photo/1"),
                    }
                }
                7 => format!(
                    "https://www.facebook.com/{}/videos/{}/?__tn__=kC-R{t}",
                    r.id(ALNUM, 10),
                    r.digits(16)
                ),
                8 => format!(
                    "https://www.instagram.com/p/{}/?igsh={}",
                    r.id(B64, 11),
                    r.id(ALNUM, 16)
                ),
                9 => format!(
                    "https://www.tiktok.com/@{}/video/{}?is_from_webapp=1&sender_device=pc",
                    r.id(LOWER36, 9),
                    r.digits(19)
                ),
                10 => format!("https://t.me/{}/{}", r.id(ALNUM, 10), r.below(100_000)),
                11 => format!(
                    "https://www.reddit.com/r/{}/comments/{}/{}_{}/",
                    r.pick(&words),
                    r.id(LOWER36, 6),
                    r.pick(&words),
                    r.pick(&words)
                ),
                12 => {
                    let inner = format!(
                        "https://{}/{}/{}-{}",
                        r.pick(&news),
                        r.pick(&words),
                        r.pick(&words),
                        r.digits(8)
                    );
                    let enc: String =
                        url::form_urlencoded::byte_serialize(inner.as_bytes()).collect();
                    match r.below(3) {
                        0 => format!(
                            "https://www.google.com/url?sa=t&q={enc}&usg=AOvVaw{}",
                            r.id(ALNUM, 20)
                        ),
                        1 => format!(
                            "https://l.facebook.com/l.php?u={enc}&h=AT{}",
                            r.id(ALNUM, 20)
                        ),
                        _ => format!("https://web.archive.org/web/2023{}/{inner}", r.digits(10)),
                    }
                }
                13 => format!(
                    "https://{}/{}",
                    r.pick(&["t.co", "bit.ly", "vm.tiktok.com", "fb.watch"]),
                    r.id(ALNUM, 10)
                ),
                _ => format!(
                    "https://{}/{}/{}/{}-{}-{}?id={}{t}",
                    r.pick(&news),
                    r.pick(&words),
                    2020 + r.below(6),
                    r.pick(&words),
                    r.pick(&words),
                    r.digits(6),
                    r.below(1000)
                ),
            }
        })
        .collect()
}

/// A mix where half the URLs are on the hosts of `src/url/hosts.rules` (file hosts, paste
/// sites, smaller video platforms, fediverse), in their usual spellings, and half are the
/// bench mix above.
pub fn generate_host_mix(n: usize) -> Vec<String> {
    let base = generate_mix(n);
    let mut r = Rng(0x2545_F491_4F6C_DD1D);
    base.into_iter()
        .enumerate()
        .map(|(i, u)| {
            if i % 2 == 0 {
                return u;
            }
            let b = r.id(B64, 8);
            match r.below(16) {
                0 => format!(
                    "https://drive.google.com/file/d/1{}/view?usp=sharing",
                    r.id(B64, 32)
                ),
                1 => format!("https://mega.nz/file/{b}#{}", r.id(B64, 22)),
                2 => format!("https://mega.nz/#!{b}!{}", r.id(B64, 22)),
                3 => format!(
                    "https://www.dropbox.com/scl/fi/{}/report.pdf?rlkey={}&dl=0",
                    r.id(LOWER36, 21),
                    r.id(LOWER36, 25)
                ),
                4 => format!("https://archive.org/details/{}", r.id(ALNUM, 14)),
                5 => format!("https://www.bitchute.com/video/{}/", r.id(ALNUM, 12)),
                6 => format!("https://rumble.com/v{}-some-title.html", r.id(LOWER36, 6)),
                7 => format!("https://vimeo.com/{}", r.digits(9)),
                8 => format!("https://www.dailymotion.com/video/x{}", r.id(LOWER36, 6)),
                9 => format!("https://vk.com/video-{}_{}", r.digits(8), r.digits(9)),
                10 => format!("https://pastebin.com/raw/{}", r.id(ALNUM, 8)),
                11 => format!(
                    "https://www.mediafire.com/file/{}/file.zip/file",
                    r.id(LOWER36, 15)
                ),
                12 => format!("https://ok.ru/video/{}", r.digits(11)),
                13 => format!("https://streamable.com/{}", r.id(LOWER36, 6)),
                14 => format!(
                    "https://bsky.app/profile/{}.bsky.social/post/3k{}",
                    r.id(LOWER36, 8),
                    r.id(LOWER36, 11)
                ),
                _ => format!(
                    "https://mastodon.social/@{}/{}",
                    r.id(ALNUM, 8),
                    r.digits(18)
                ),
            }
        })
        .collect()
}

/// A user rules file with `n` hosts (`files{i}.example`), for the rules-cost bench.
pub fn many_host_rules(n: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "[host{i}]\nhosts = files{i}.example\nclass id = alnum 4-20\nitem file /f/<id>\nitem file /dl ?id=<id>\ncanon file https://files{i}.example/f/{{id}}\n"
        ));
    }
    text
}
