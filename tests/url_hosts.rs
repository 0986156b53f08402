//! Host rules (issue #14): every host's spellings of one item give one key, route fragments
//! name items, the built-in traps stay apart, and user rules files are checked.

use std::collections::{HashMap, HashSet};

use referral_dedup::url::{builtin_traps, key, HostRules, KeyOptions, Platform, Rule};

/// Each class: the expected key and at least four spellings of the item.
const HOSTS: &[(&str, &[&str])] = &[
    ("gdrive:file:1AbCdEfGhIjKlMnOpQrStUvWxYz012345", &[
        "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz012345/view?usp=sharing",
        "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz012345/preview",
        "https://drive.google.com/open?id=1AbCdEfGhIjKlMnOpQrStUvWxYz012345&authuser=0",
        "https://drive.google.com/uc?export=download&id=1AbCdEfGhIjKlMnOpQrStUvWxYz012345",
        "https://drive.usercontent.google.com/download?id=1AbCdEfGhIjKlMnOpQrStUvWxYz012345&export=download",
        "https://docs.google.com/document/d/1AbCdEfGhIjKlMnOpQrStUvWxYz012345/edit#heading=h.x",
        "https://docs.google.com/spreadsheets/u/0/d/1AbCdEfGhIjKlMnOpQrStUvWxYz012345/htmlview",
        "drive.google.com/file/u/1/d/1AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    ]),
    ("gdrive:folder:1ZyXwVuTsRqPoNmLkJiHgFeDcBa987654", &[
        "https://drive.google.com/drive/folders/1ZyXwVuTsRqPoNmLkJiHgFeDcBa987654?usp=sharing",
        "https://drive.google.com/drive/u/0/folders/1ZyXwVuTsRqPoNmLkJiHgFeDcBa987654",
        "https://drive.google.com/drive/mobile/folders/1ZyXwVuTsRqPoNmLkJiHgFeDcBa987654",
        "https://drive.google.com/folderview?id=1ZyXwVuTsRqPoNmLkJiHgFeDcBa987654",
    ]),
    ("dropbox:file:abc123xyz?rlkey=k1", &[
        "https://www.dropbox.com/scl/fi/abc123xyz/report.pdf?rlkey=k1&dl=0",
        "https://www.dropbox.com/scl/fi/abc123xyz/report.pdf?dl=1&rlkey=k1",
        "https://dl.dropboxusercontent.com/scl/fi/abc123xyz/report.pdf?rlkey=k1&st=abc",
        "https://dl.dropbox.com/scl/fi/abc123xyz/other-name.pdf?rlkey=k1&raw=1",
    ]),
    ("dropbox:share:AbCdEf12345", &[
        "https://www.dropbox.com/s/AbCdEf12345/a.pdf?dl=0",
        "https://dropbox.com/s/AbCdEf12345/a.pdf?dl=1",
        "https://dl.dropboxusercontent.com/s/AbCdEf12345/a.pdf",
        "https://www.dropbox.com/s/AbCdEf12345",
    ]),
    ("mega:file:AbCdEfGh", &[
        "https://mega.nz/file/AbCdEfGh#DecryptionKey123",
        "https://mega.nz/#!AbCdEfGh!DecryptionKey123",
        "https://mega.co.nz/#!AbCdEfGh!DecryptionKey123",
        "https://mega.nz/embed/AbCdEfGh#DecryptionKey123",
        "https://mega.nz/embed#!AbCdEfGh!DecryptionKey123",
        "mega.nz/file/AbCdEfGh",
    ]),
    ("mega:folder:ZyXwVuTs", &[
        "https://mega.nz/folder/ZyXwVuTs#FolderKey",
        "https://mega.nz/#F!ZyXwVuTs!FolderKey",
        "https://mega.co.nz/#F!ZyXwVuTs!FolderKey",
        "https://www.mega.nz/folder/ZyXwVuTs",
    ]),
    ("mega:folder-file:ZyXwVuTs/AbCdEfGh", &[
        "https://mega.nz/folder/ZyXwVuTs#FolderKey/file/AbCdEfGh",
        "https://mega.nz/folder/ZyXwVuTs#OtherKey/file/AbCdEfGh",
        "https://mega.nz/folder/ZyXwVuTs#/file/AbCdEfGh",
        "http://mega.nz/folder/ZyXwVuTs#FolderKey/file/AbCdEfGh/",
    ]),
    ("onedrive:share:s!AbCdEfGh12", &[
        "https://1drv.ms/u/s!AbCdEfGh12",
        "https://1drv.ms/u/s!AbCdEfGh12?e=xYz",
        "https://1drv.ms/v/s!AbCdEfGh12",
        "1drv.ms/w/s!AbCdEfGh12?e=1",
    ]),
    ("onedrive:item:abcdef0123456789!123", &[
        "https://onedrive.live.com/?cid=ABCDEF0123456789&resid=ABCDEF0123456789!123&authkey=!AbC",
        "https://onedrive.live.com/redir?resid=ABCDEF0123456789!123&authkey=!AbC",
        "https://onedrive.live.com/embed?resid=abcdef0123456789!123",
        "https://onedrive.live.com/download?resid=ABCDEF0123456789!123",
    ]),
    ("ia:item:SomeItem_2020", &[
        "https://archive.org/details/SomeItem_2020",
        "https://archive.org/details/SomeItem_2020/",
        "https://www.archive.org/details/SomeItem_2020?q=x",
        "https://archive.org/embed/SomeItem_2020",
        "https://archive.org/download/SomeItem_2020",
    ]),
    ("ia:file:SomeItem_2020/video/part%201.mp4", &[
        "https://archive.org/download/SomeItem_2020/video/part%201.mp4",
        "https://archive.org/download/SomeItem_2020/video/part 1.mp4",
        "https://ia800300.us.archive.org/12/items/SomeItem_2020/video/part%201.mp4",
        "http://archive.org/download/SomeItem_2020/video/part%201.mp4?x=1",
    ]),
    ("bitchute:video:AbCdEf12345", &[
        "https://www.bitchute.com/video/AbCdEf12345/",
        "https://bitchute.com/video/AbCdEf12345",
        "https://www.bitchute.com/embed/AbCdEf12345/",
        "https://old.bitchute.com/video/AbCdEf12345/?list=x",
        "https://www.bitchute.com/torrent/AbCdEf12345/file.torrent",
    ]),
    ("rumble:video:4abcde", &[
        "https://rumble.com/v4abcde-some-title.html",
        "https://rumble.com/v4abcde-other-title.html?mref=x",
        "https://rumble.com/v4abcde.html",
        "https://www.rumble.com/v4abcde-some-title.html",
    ]),
    ("odysee:claim:@SomeChan:c/some-video:a1", &[
        "https://odysee.com/@SomeChan:c/some-video:a1",
        "https://odysee.com/$/embed/@SomeChan:c/some-video:a1?r=x",
        "https://lbry.tv/@SomeChan:c/some-video:a1",
        "https://open.lbry.com/@SomeChan:c/some-video:a1",
    ]),
    ("vimeo:video:76979871", &[
        "https://vimeo.com/76979871",
        "https://player.vimeo.com/video/76979871?h=8272103f6e",
        "https://vimeo.com/76979871/8272103f6e",
        "https://vimeo.com/channels/staffpicks/76979871",
        "https://vimeo.com/groups/shortfilms/videos/76979871",
        "https://vimeo.com/showcase/123/video/76979871",
        "https://vimeo.com/album/123/video/76979871",
    ]),
    ("dm:video:x7tgad0", &[
        "https://www.dailymotion.com/video/x7tgad0",
        "https://dai.ly/x7tgad0",
        "https://www.dailymotion.com/embed/video/x7tgad0?autoplay=1",
        "https://geo.dailymotion.com/player.html?video=x7tgad0",
        "https://www.dailymotion.com/video/x7tgad0_some-title_news",
        "https://touch.dailymotion.com/video/x7tgad0",
    ]),
    ("vk:video:-123_456", &[
        "https://vk.com/video-123_456",
        "https://m.vk.com/video-123_456",
        "https://vkvideo.ru/video-123_456",
        "https://vk.com/video_ext.php?oid=-123&id=456&hash=abc",
        "https://vk.com/feed?z=video-123_456%2Fpl_cat_trends",
        "https://vk.com/clip-123_456",
        "https://vk.ru/video-123_456",
        "https://vkvideo.ru/video_ext.php?oid=-123&id=456&hash=def&hd=2",
        "https://m.vkvideo.ru/clip-123_456",
    ]),
    ("vk:wall:-123_456", &[
        "https://vk.com/wall-123_456",
        "https://m.vk.com/wall-123_456?from=x",
        "https://vk.com/somegroup?w=wall-123_456",
        "https://vk.ru/wall-123_456",
    ]),
    ("ok:video:20079905452", &[
        "https://ok.ru/video/20079905452",
        "https://m.ok.ru/video/20079905452",
        "https://ok.ru/videoembed/20079905452?autoplay=1",
        "https://odnoklassniki.ru/video/20079905452",
        "https://ok.ru/live/20079905452",
    ]),
    ("pastebin:paste:AbCd1234", &[
        "https://pastebin.com/AbCd1234",
        "https://pastebin.com/raw/AbCd1234",
        "https://pastebin.com/dl/AbCd1234",
        "https://pastebin.com/embed_iframe/AbCd1234?theme=dark",
        "https://pastebin.com/raw.php?i=AbCd1234",
        "http://www.pastebin.com/print/AbCd1234",
        "https://pastebin.com/embed/AbCd1234",
        "https://pastebin.com/embed_js/AbCd1234",
    ]),
    ("jpst:paste:4ab6x", &[
        "https://justpaste.it/4ab6x",
        "https://www.justpaste.it/4ab6x",
        "https://jpst.it/4ab6x",
        "justpaste.it/4ab6x?utm_source=x",
    ]),
    ("streamable:video:abc12x", &[
        "https://streamable.com/abc12x",
        "https://streamable.com/e/abc12x",
        "https://streamable.com/e/abc12x?autoplay=1",
        "https://streamable.com/s/abc12x/xyzhash",
        "https://streamable.com/o/abc12x",
    ]),
    ("mediafire:file:abc123def45", &[
        "https://www.mediafire.com/file/abc123def45/archive.zip/file",
        "https://www.mediafire.com/file/abc123def45",
        "https://www.mediafire.com/?abc123def45",
        "https://mediafire.com/download/abc123def45",
        "https://www.mediafire.com/download.php?abc123def45",
        "https://www.mediafire.com/view/abc123def45/archive.zip",
    ]),
    ("filesfm:upload:abcd1234", &[
        "https://files.fm/u/abcd1234",
        "https://files.fm/u/abcd1234/",
        "https://www.files.fm/u/abcd1234",
        "https://files.fm/u/abcd1234#sign_up",
    ]),
    ("filesfm:upload-file:abcd1234/clip.mp4", &[
        "https://files.fm/u/abcd1234#/view/clip.mp4",
        "https://www.files.fm/u/abcd1234#/view/clip.mp4",
        "http://files.fm/u/abcd1234#/view/clip.mp4",
        "https://files.fm/u/abcd1234?utm_source=x#/view/clip.mp4",
    ]),
    ("gab:post:108732338582726706", &[
        "https://gab.com/INFOWARS/posts/108732338582726706",
        "https://gab.com/someone/posts/108732338582726706",
        "https://www.gab.com/INFOWARS/posts/108732338582726706?x=1",
        "https://gab.com/@INFOWARS/posts/108732338582726706",
    ]),
    ("truth:post:112233445566778899", &[
        "https://truthsocial.com/@realUser/posts/112233445566778899",
        "https://truthsocial.com/@realUser/112233445566778899",
        "https://truthsocial.com/users/realUser/statuses/112233445566778899",
        "https://www.truthsocial.com/@other/posts/112233445566778899",
    ]),
    ("sc:track:artist-name/track-one", &[
        "https://soundcloud.com/artist-name/track-one",
        "https://m.soundcloud.com/artist-name/track-one",
        "https://soundcloud.com/Artist-Name/Track-One?in=x",
        "https://soundcloud.com/artist-name/track-one/s-AbCdEf",
    ]),
    ("sc:track-id:123456789", &[
        "https://api.soundcloud.com/tracks/123456789",
        "https://w.soundcloud.com/player/?url=https%3A%2F%2Fapi.soundcloud.com%2Ftracks%2F123456789&color=ff5500",
        "https://w.soundcloud.com/player/?url=https%3A//api.soundcloud.com/tracks/123456789",
        "https://w.soundcloud.com/player/?url=https://api.soundcloud.com/tracks/123456789&auto_play=false",
    ]),
    ("kick:video:e74614f4-5270-4319-90ad-32179f19a45c", &[
        "https://kick.com/video/e74614f4-5270-4319-90ad-32179f19a45c",
        "https://kick.com/somechannel/videos/e74614f4-5270-4319-90ad-32179f19a45c",
        "https://kick.com/video/E74614F4-5270-4319-90AD-32179F19A45C",
        "https://www.kick.com/video/e74614f4-5270-4319-90ad-32179f19a45c?t=5",
    ]),
    ("kick:clip:clip_01H811MXG4FBR62FXPE1AXABDH", &[
        "https://kick.com/xqc?clip=clip_01H811MXG4FBR62FXPE1AXABDH",
        "https://kick.com/xqc/clips/clip_01H811MXG4FBR62FXPE1AXABDH",
        "https://kick.com/other?clip=clip_01H811MXG4FBR62FXPE1AXABDH",
        "https://www.kick.com/xqc/clips/clip_01H811MXG4FBR62FXPE1AXABDH",
    ]),
    ("twitch:clip:FunnyClipName-AbC_12", &[
        "https://clips.twitch.tv/FunnyClipName-AbC_12",
        "https://www.twitch.tv/somechannel/clip/FunnyClipName-AbC_12?filter=clips",
        "https://m.twitch.tv/clip/FunnyClipName-AbC_12",
        "https://clips.twitch.tv/embed?clip=FunnyClipName-AbC_12&parent=example.com",
        "https://m.twitch.tv/somechannel/clip/FunnyClipName-AbC_12",
    ]),
    ("threads:post:C3xYz_AbC12", &[
        "https://www.threads.net/@someone/post/C3xYz_AbC12",
        "https://threads.net/@someone/post/C3xYz_AbC12?igshid=x",
        "https://www.threads.com/@someone/post/C3xYz_AbC12",
        "https://www.threads.net/t/C3xYz_AbC12",
    ]),
    ("bsky:post:alice.bsky.social/3kabc2def3ghi", &[
        "https://bsky.app/profile/alice.bsky.social/post/3kabc2def3ghi",
        "https://bsky.app/profile/Alice.Bsky.Social/post/3kabc2def3ghi",
        "at://alice.bsky.social/app.bsky.feed.post/3kabc2def3ghi",
        "bsky.app/profile/alice.bsky.social/post/3kabc2def3ghi?ref_src=x",
    ]),
    ("masto:status:mastodon.social/@alice/109876543210", &[
        "https://mastodon.social/@alice/109876543210",
        "https://mastodon.social/@Alice/109876543210/embed",
        "https://mastodon.social/users/alice/statuses/109876543210",
        "https://www.mastodon.social/@alice/109876543210?utm_source=x",
        "https://mastodon.social/web/@alice/109876543210",
    ]),
    // Further item kinds of the same hosts: each kind has its own spellings.
    ("gdrive:pub-doc:2PACX-1vQAbCdEfGhIjKlMnOpQrStUv", &[
        "https://docs.google.com/document/d/e/2PACX-1vQAbCdEfGhIjKlMnOpQrStUv/pub",
        "https://docs.google.com/document/d/e/2PACX-1vQAbCdEfGhIjKlMnOpQrStUv/pub?embedded=true",
        "https://docs.google.com/document/d/e/2PACX-1vQAbCdEfGhIjKlMnOpQrStUv/pubhtml",
        "http://docs.google.com/document/d/e/2PACX-1vQAbCdEfGhIjKlMnOpQrStUv/pub#h.1",
    ]),
    ("dropbox:folder:abc123xyz/AAB_kk?rlkey=k1", &[
        "https://www.dropbox.com/scl/fo/abc123xyz/AAB_kk?rlkey=k1&dl=0",
        "https://www.dropbox.com/scl/fo/abc123xyz/AAB_kk?dl=1&rlkey=k1",
        "https://dropbox.com/scl/fo/abc123xyz/AAB_kk/?rlkey=k1&st=x1",
        "https://www.dropbox.com/scl/fo/abc123xyz/AAB_kk?rlkey=k1&e=1#top",
    ]),
    ("onedrive:folder:s!AbCdEfGh12", &[
        "https://1drv.ms/f/s!AbCdEfGh12",
        "https://1drv.ms/f/s!AbCdEfGh12?e=xYz",
        "http://1drv.ms/f/s!AbCdEfGh12",
        "1drv.ms/f/s!AbCdEfGh12#x",
    ]),
    ("mediafire:folder:abc123def45", &[
        "https://www.mediafire.com/folder/abc123def45/Some_Folder",
        "https://www.mediafire.com/folder/abc123def45",
        "https://mediafire.com/folder/abc123def45/",
        "http://www.mediafire.com/folder/abc123def45/x?utm_source=y",
    ]),
    ("mega:folder-folder:ZyXwVuTs/AbCdEfGh", &[
        "https://mega.nz/folder/ZyXwVuTs#FolderKey/folder/AbCdEfGh",
        "https://mega.co.nz/folder/ZyXwVuTs#OtherKey/folder/AbCdEfGh",
        "https://mega.nz/#F!ZyXwVuTs!FolderKey!AbCdEfGh",
        "https://mega.nz/folder/ZyXwVuTs#/folder/AbCdEfGh",
    ]),
    ("bitchute:channel:SomeChannel", &[
        "https://www.bitchute.com/channel/SomeChannel/",
        "https://bitchute.com/channel/SomeChannel",
        "https://old.bitchute.com/channel/SomeChannel/",
        "http://www.bitchute.com/channel/SomeChannel/?showall=1",
    ]),
    ("rumble:embed:2abc1", &[
        "https://rumble.com/embed/v2abc1/",
        "https://rumble.com/embed/v2abc1/?pub=4",
        "https://www.rumble.com/embed/v2abc1",
        "http://rumble.com/embed/v2abc1/",
    ]),
    ("odysee:channel:@SomeChan:c", &[
        "https://odysee.com/@SomeChan:c",
        "https://odysee.com/@SomeChan:c?view=content",
        "https://lbry.tv/@SomeChan:c",
        "https://open.lbry.com/@SomeChan:c",
    ]),
    ("vimeo:showcase:5040105", &[
        "https://vimeo.com/showcase/5040105",
        "https://vimeo.com/showcase/5040105/embed",
        "https://vimeo.com/album/5040105",
        "http://www.vimeo.com/album/5040105/",
    ]),
    ("dm:playlist:x6hynp", &[
        "https://www.dailymotion.com/playlist/x6hynp",
        "https://dailymotion.com/playlist/x6hynp/1",
        "https://touch.dailymotion.com/playlist/x6hynp",
        "http://www.dailymotion.com/playlist/x6hynp?x=1",
    ]),
    ("ok:topic:53311891443/68741853571", &[
        "https://ok.ru/group/53311891443/topic/68741853571",
        "https://m.ok.ru/group/53311891443/topic/68741853571",
        "https://www.odnoklassniki.ru/group/53311891443/topic/68741853571",
        "http://ok.ru/group/53311891443/topic/68741853571?x=1",
    ]),
    ("twitch:video:2106473521", &[
        "https://www.twitch.tv/videos/2106473521",
        "https://m.twitch.tv/videos/2106473521",
        "https://player.twitch.tv/?video=v2106473521&parent=example.com",
        "https://player.twitch.tv/?video=2106473521",
    ]),
    ("sc:playlist:artist-name/best-of", &[
        "https://soundcloud.com/artist-name/sets/best-of",
        "https://m.soundcloud.com/artist-name/sets/best-of",
        "https://soundcloud.com/Artist-Name/sets/Best-Of?si=x",
        "https://soundcloud.com/artist-name/sets/best-of/s-AbCdEf",
    ]),
    ("filesfm:file:abcd5678", &[
        "https://files.fm/f/abcd5678",
        "https://files.fm/f/abcd5678/",
        "https://www.files.fm/f/abcd5678",
        "http://files.fm/f/abcd5678?utm_source=x",
    ]),
    ("tg:c/1234567/55", &[
        "https://t.me/c/1234567/55",
        "t.me/c/1234567/55",
        "https://telegram.me/c/1234567/55",
        "https://t.me/c/1234567/99/55",
    ]),
    ("x:1460323737035677698", &[
        "https://twitter.com/#!/someone/status/1460323737035677698",
        "http://twitter.com/#!/someone/status/1460323737035677698",
        "https://x.com/someone/status/1460323737035677698",
        "https://twitter.com/#!/other/status/1460323737035677698",
    ]),
];

/// Route fragments on sites without a rule: the fragment names the item.
const ROUTES: &[(&str, &[&str])] = &[
    (
        "url:app.example.com/#/item/5",
        &[
            "https://app.example.com/#/item/5",
            "http://www.app.example.com/#/item/5",
            "https://app.example.com/?utm_source=x#/item/5",
            "https://APP.example.com/#/item/%35",
        ],
    ),
    (
        "url:example.org/#F!Abc",
        &[
            "https://example.org/#F!Abc",
            "http://example.org/#F!Abc",
            "https://www.example.org/#F!Abc",
            "https://example.org/?fbclid=x#F!Abc",
        ],
    ),
    (
        "url:example.org/#!/route/Page",
        &[
            "https://example.org/#!/route/Page",
            "http://www.example.org/#!/route/Page",
            "https://example.org/?gclid=1#!/route/Page",
            "example.org/#!/route/Page",
        ],
    ),
    (
        "url:example.org/a",
        &[
            "https://example.org/a#section",
            "https://example.org/a#/",
            "https://example.org/a#",
            "https://example.org/a",
        ],
    ),
];

#[test]
fn every_host_spelling_gets_the_item_key() {
    for (expected, spellings) in HOSTS.iter().chain(ROUTES) {
        assert!(spellings.len() >= 4, "{expected}: at least four spellings");
        for s in *spellings {
            let k = key(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            assert_eq!(&k.key, expected, "input {s:?} (rules {:?})", k.rules);
            let again = key(&k.canonical).unwrap();
            assert_eq!(again.key, k.key, "canonical {} of {s}", k.canonical);
        }
    }
    let keys: HashSet<&str> = HOSTS.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys.len(), HOSTS.len(), "classes have distinct keys");
}

#[test]
fn every_host_rule_has_a_class_and_a_trap() {
    // Each key prefix of the built-in host rules has a class above and a trap in traps.txt.
    let mut trapped: HashMap<String, usize> = HashMap::new();
    for (a, _) in builtin_traps() {
        let k = key(a).unwrap().key;
        let prefix = k.split(':').next().unwrap().to_string();
        *trapped.entry(prefix).or_default() += 1;
    }
    for (expected, _) in HOSTS {
        let prefix = expected.split(':').next().unwrap();
        assert!(trapped.contains_key(prefix), "no trap for {prefix}");
    }
    let prefixes: HashSet<&str> = HOSTS
        .iter()
        .map(|(k, _)| k.split(':').next().unwrap())
        .collect();
    assert!(prefixes.len() >= 27, "{} hosts", prefixes.len());
}

#[test]
fn builtin_traps_stay_apart() {
    for (a, b) in builtin_traps() {
        let ka = key(a).unwrap_or_else(|e| panic!("{a}: {e}"));
        let kb = key(b).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_ne!(ka.key, kb.key, "{a} and {b} must not merge");
    }
}

#[test]
fn host_keys_say_which_rule() {
    let k = key("https://mega.nz/#!AbCdEfGh!key").unwrap();
    assert_eq!(k.platform.map(Platform::as_str), Some("mega"));
    assert_eq!(k.rules.last().unwrap().to_string(), "platform:mega");
    assert_eq!(k.canonical, "https://mega.nz/file/AbCdEfGh");
    let json = serde_json::to_string(&k).unwrap();
    assert!(json.contains(r#""platform":"mega""#), "{json}");
    let k = key("at://alice.bsky.social/app.bsky.feed.post/3kabc2def3ghi").unwrap();
    assert_eq!(k.rules.first(), Some(&Rule::AtUri));
    assert!(key("at://alice.bsky.social/app.bsky.graph.follow/3k").is_err());
    // A fediverse-looking path on an unknown host with content parameters stays generic.
    assert!(key("https://example.net/@alice/123?page=2")
        .unwrap()
        .key
        .starts_with("url:"));
    // Platform hosts are never read as fediverse statuses.
    assert!(!key("https://www.youtube.com/@alice/123")
        .unwrap()
        .key
        .starts_with("masto:"));
}

pub(crate) const USER_RULES: &str = "\
# A paste site and an override of a built-in rule.
[pastey]
hosts = pastey.example paste.example.net
class id = [A-Za-z0-9] 6-10
item paste /p/<id>
item paste /raw/<id>
item paste /view ?id=<id>
canon paste https://pastey.example/p/{id}

[streamable]
hosts = streamable.com
class id = alnum 3-16
item clip /clip/<id>
canon clip https://streamable.com/clip/{id}
";

#[test]
fn user_rules_add_and_override_hosts() {
    let rules = HostRules::parse(USER_RULES).unwrap();
    assert_eq!(rules.len(), 2);
    let keyer = KeyOptions::default().host_rules(rules).build();
    for s in [
        "https://pastey.example/p/AbC123",
        "https://www.pastey.example/raw/AbC123",
        "https://paste.example.net/view?id=AbC123&utm_source=x",
        "pastey.example/p/AbC123/",
    ] {
        assert_eq!(keyer.key(s).unwrap().key, "pastey:paste:AbC123", "{s}");
    }
    assert_ne!(
        keyer.key("https://pastey.example/p/AbC123").unwrap().key,
        keyer.key("https://pastey.example/p/abc123").unwrap().key
    );
    // The user's streamable rule replaced the built-in one.
    assert_eq!(
        keyer.key("https://streamable.com/clip/abc12").unwrap().key,
        "streamable:clip:abc12"
    );
    assert!(keyer
        .key("https://streamable.com/abc12x")
        .unwrap()
        .key
        .starts_with("url:"));
    // The default keyer is untouched.
    assert!(key("https://pastey.example/p/AbC123")
        .unwrap()
        .key
        .starts_with("url:"));
}

#[test]
fn malformed_rules_are_refused_with_line_and_reason() {
    let cases: &[(&str, usize, &str)] = &[
        ("hosts = a.example\n", 1, "header"),
        ("[ok]\nhosts = a.example\nitem x /p/<id:nope>\n", 3, "unknown class"),
        ("[ok]\nhosts = com\nitem x /p/<id:digits>\ncanon x https://a.example/{id}\n", 2, "bad host"),
        ("[Bad Name]\n", 1, "bad rule name"),
        ("[ok]\nhosts = a.example\nitem x p/<id:digits>\ncanon x https://a.example/p/{id}\n", 3, "must start with"),
        ("[ok]\nhosts = a.example\nitem x /p/<id:digits>\n", 3, "no `canon`"),
        ("[ok]\nhosts = a.example\nclass id = [a-z/] 1-3\n", 3, "not allowed"),
        ("[ok]\nhosts = a.example\nitem x /p/<id:digits><b:digits>\n", 3, "capture must follow"),
        ("[ok]\nhosts = a.example\nfrobnicate\n", 3, "unknown word"),
        ("[yt]\nhosts = a.example\n", 1, "reserved"),
        ("[ok]\nprefix = url\nhosts = a.example\n", 2, "reserved"),
        ("[ok]\nhosts = a.example\nitem x /p/<id:digits>\ncanon x https://other.example/p/{id}\n", 4, "keys to"),
        ("[a]\nhosts = a.example\nfragment = keep\n[a]\n", 4, "twice"),
    ];
    for (text, line, reason) in cases {
        let e = HostRules::parse(text).unwrap_err();
        assert_eq!(e.line, *line, "{text:?}: {e}");
        assert!(e.to_string().contains(reason), "{text:?}: {e}");
    }
}

#[test]
fn user_rules_that_merge_builtin_traps_are_refused() {
    // Case-insensitive MEGA ids would merge two different files.
    let e = HostRules::parse(
        "[mega]\nhosts = mega.nz\nclass id = b64 8-8 ci\nitem file /file/<id>\ncanon file https://mega.nz/file/{id}\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("trap"), "{e}");
    assert_eq!(e.line, 1);
    // Dropping the fragment on a generic site would merge two hash-bang routes.
    let e = HostRules::parse("[flat]\nhosts = example.com\nfragment = drop\n").unwrap_err();
    assert!(e.to_string().contains("trap"), "{e}");
    // A user rule for a platform host that ignores case in YouTube ids.
    let e = HostRules::parse(
        "[tube]\nhosts = youtu.be\nclass id = b64 11-11 ci\nitem video /<id>\ncanon video https://youtu.be/{id}\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("trap"), "{e}");
}

#[test]
fn a_thousand_host_rules_file_parses() {
    let mut text = String::new();
    for i in 0..1000 {
        text.push_str(&format!(
            "[host{i}]\nhosts = files{i}.example\nclass id = alnum 4-20\nitem file /f/<id>\ncanon file https://files{i}.example/f/{{id}}\n"
        ));
    }
    let rules = HostRules::parse(&text).unwrap();
    assert_eq!(rules.len(), 1000);
    let keyer = KeyOptions::default().host_rules(rules).build();
    assert_eq!(
        keyer.key("https://files999.example/f/AbCd").unwrap().key,
        "host999:file:AbCd"
    );
    assert_eq!(
        keyer.key("https://youtu.be/dQw4w9WgXcQ").unwrap().key,
        "yt:dQw4w9WgXcQ"
    );
}

#[test]
fn engine_and_batch_use_user_rules() {
    use referral_dedup::batch::{dedup_reader, BatchOptions};
    use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
    let config = EngineConfig {
        url_rules: Some(HostRules::parse(USER_RULES).unwrap()),
        ..EngineConfig::default()
    };
    let engine = Engine::in_memory(config.clone()).unwrap();
    engine
        .record(&Referral::new("a").with_url("https://pastey.example/p/AbC123"))
        .unwrap();
    let v = engine
        .check(&Referral::new("b").with_url("https://paste.example.net/view?id=AbC123"))
        .unwrap();
    assert_eq!(v.kind, VerdictKind::Duplicate);
    let backlog = "{\"id\":\"1\",\"url\":\"https://pastey.example/raw/AbC123\"}\n{\"id\":\"2\",\"url\":\"pastey.example/p/AbC123\"}\n";
    let report = dedup_reader(
        backlog.as_bytes(),
        ".".as_ref(),
        None,
        &config,
        &BatchOptions::default(),
    )
    .unwrap();
    assert_eq!(report.clusters.len(), 1);
    assert_eq!(report.clusters[0].members, ["1", "2"]);
}

#[test]
fn docs_host_table_examples_give_their_keys() {
    // docs/url-hosts.md lists every host with one example spelling and its key: each row is
    // checked here, so the table cannot drift from the rules.
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/url-hosts.md"),
    )
    .unwrap();
    let table = doc
        .split("## Hosts at a glance")
        .nth(1)
        .expect("the host table section");
    let mut rows = 0;
    for line in table.lines().take_while(|l| !l.starts_with("## ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 5 || !cells[2].starts_with('`') {
            continue;
        }
        let unquote = |c: &str| {
            c.trim_matches('`')
                .replace("1AbC…345", "1AbCdEfGhIjKlMnOpQrStUvWxYz012345")
        };
        let (host, url, expected) = (cells[1], unquote(cells[2]), unquote(cells[3]));
        let k = key(&url).unwrap_or_else(|e| panic!("{host}: {url}: {e}"));
        assert_eq!(k.key, expected, "{host}: {url}");
        rows += 1;
    }
    assert!(rows >= 40, "{rows} rows");
    // Every host the issue lists has a row.
    for host in [
        "Google Drive",
        "Google Docs",
        "Dropbox",
        "MEGA file",
        "MEGA folder",
        "MEGA legacy hash-bang",
        "mega.co.nz",
        "OneDrive",
        "1drv.ms",
        "archive.org details",
        "archive.org embed",
        "archive.org download",
        "BitChute",
        "Rumble",
        "Odysee",
        "Vimeo player",
        "Vimeo channel",
        "Dailymotion",
        "dai.ly",
        "VK video",
        "VK wall",
        "vkvideo.ru",
        "OK.ru",
        "Pastebin",
        "JustPaste.it",
        "Streamable",
        "MediaFire",
        "MediaFire legacy",
        "files.fm",
        "Gab",
        "Truth Social",
        "SoundCloud",
        "Kick",
        "Twitch clips",
        "Telegram private channel",
        "Threads",
        "Bluesky",
        "Bluesky AT URI",
        "Mastodon-style",
    ] {
        assert!(table.contains(&format!("| {host} |")), "no row for {host}");
    }
}

#[test]
fn any_host_keys_drop_the_default_port_of_their_canonical_scheme() {
    // `http://h:443/...` is canonicalised to `https://h:443/...`, which a URL parser writes
    // as `https://h/...`: the key must be that URL's key (a fuzz find). Other ports stay.
    use referral_dedup::url::key;
    for input in [
        "mastodon.example:443/web/@alice/109876543210",
        "http://mastodon.example:443/@alice/109876543210",
        "https://mastodon.example/@alice/109876543210",
    ] {
        let k = key(input).unwrap();
        assert_eq!(
            k.key, "masto:status:mastodon.example/@alice/109876543210",
            "{input}"
        );
        assert_eq!(key(&k.canonical).unwrap().key, k.key, "{input}");
    }
    let other = key("https://mastodon.example:8443/@alice/109876543210").unwrap();
    assert_eq!(
        other.key,
        "masto:status:mastodon.example:8443/@alice/109876543210"
    );
    assert_eq!(key(&other.canonical).unwrap().key, other.key);
}
