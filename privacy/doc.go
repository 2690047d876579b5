// Package privacy finds personal data in prompts and masks it, so that a
// router can keep personal data on the device.
//
// # What is detected
//
// A Detector finds, in English and Chinese text (full-width punctuation and
// Chinese text without spaces around the values included):
//
//   - email: local@domain.tld. Not "icon@2x.png", not "git@host:repo", not
//     the domains reserved for examples (example.com, *.test), which belong
//     to no one; in scheme://user:password@host the password is a secret.
//   - phone: international numbers with a leading + (+1 415 555 0132,
//     +44 (0)20 7946 0958); North American (415) 555-0132, 415-555-0132,
//     1-800-555-0199; Chinese mobiles (allocated 1[3-9]x prefixes) bare, in
//     3-4-4 groups and with +86/0086/86/(+86); Chinese landlines
//     010-12345678, （0755）1234567; and any 7-15 digit number right after a
//     phone keyword ("Tel:", "phone number", "call", 电话, 手机).
//   - cn_id: Chinese resident ID numbers, 18 characters with the ISO 7064
//     MOD 11-2 check character and a valid birth date (1900-2099); the old
//     15-digit form only after 身份证.
//   - bank_card: 13-19 digits, contiguous or grouped, with a real issuer
//     prefix and length (Visa, Mastercard, Amex, JCB, Diners, Discover,
//     UnionPay) and a valid Luhn check digit.
//   - iban: country code, check digits and account of the country's length,
//     with or without spaces, passing the mod-97 check.
//   - ip: IPv4 dotted quads and IPv6, full or compressed. Not 1.2.3.4.5 or
//     v1.2.3.4, not subnet or wildcard masks (255.255.255.0, 0.0.0.255), not
//     quads shaped like section, OID or version numbers (4.2.1.14, 2.5.4.10,
//     0.7.100.3, "version 1.2.3.4"), which also leaves out public resolvers
//     such as 8.8.8.8; not times (12:30:45) or C++ scopes (std::vector).
//   - secret: OpenAI, Anthropic, AWS, GitHub, GitLab, Slack, Google, Stripe
//     and Hugging Face keys, JWTs, PEM private key blocks, bearer tokens, URL
//     passwords, and the values after keywords such as password=,
//     "api_key": , DB_PASSWORD=, client_secret:, token=, 密码：, 口令是,
//     验证码为.
//   - address: US street addresses (number, name, Street/Ave/Rd/… suffix,
//     optional unit, city, state and ZIP), UK postcodes, and Chinese
//     addresses ending in numbered parts after a road or estate
//     (北京市朝阳区建国路88号, 阳光花园3栋2单元501室).
//
// Each scanner starts from a cheap trigger (an '@', a digit run, a '+', a ':',
// an ASCII word, a keyword) and validates a small window with checksums and
// shape rules, so a 4 KB prompt takes tens of microseconds and ordinary
// numbers, dates, prices, arithmetic, version numbers and code do not match.
// Find returns sorted, non-overlapping spans on rune boundaries; Contains
// stops at the first match.
//
// # Modes
//
// A router applies one of three modes (ParseMode): strict keeps any request
// with personal data on the device; mask sends it to the cloud with the data
// replaced by placeholders and restores the values in the answer; allow
// sends it as is.
//
// # Placeholders
//
// A Masker (one per request) replaces each value with "[LABEL_N]", LABEL one
// of EMAIL, PHONE, ID, CARD, IBAN, IP, SECRET, ADDRESS and N counting from 1
// per label: "[EMAIL_1]", "[PHONE_2]". The same value gets the same
// placeholder in every message of the request. Text in the input that is
// already shaped like a placeholder is never issued to a value, and if it
// equals one issued earlier it is itself replaced (and restored), so Restore
// replaces only placeholders this Masker put in and Restore(Mask(x)) == x
// for any x. A StreamRestorer restores a streamed answer chunk by chunk,
// holding back only a possible partial placeholder (at most 18 bytes) or an
// incomplete UTF-8 sequence at the end of a chunk.
//
// # Limits
//
//   - Names of people, organisations and places on their own, dates of
//     birth, US social security numbers, passport and licence numbers, and
//     national IDs other than China's are not detected.
//   - Phone numbers in national formats without a keyword before them (a
//     bare "020 7946 0958"), numbers in full-width digits, ID numbers written
//     in groups, and street addresses without a house number or a street
//     suffix ("88 Queensway") are missed.
//   - A password or token is found only after a keyword or in a known key
//     format, and, unless the context is unambiguous (DB_PASSWORD=…, 密码：…),
//     only when it holds a digit or a symbol ("password: hunter2", not
//     "password: hunter"). Placeholder values (<password>, ${TOKEN}, ****,
//     your_api_key, values containing "example") are not secrets.
//   - Validated numbers can still collide: about one random 16-digit number
//     in ten passes the Luhn check, and an 11-digit number starting 13-19
//     looks like a Chinese mobile. Numbers in lists of other long numbers or
//     after a minus sign are skipped for that reason.
//   - Chinese address boundaries are heuristic: an address starts after the
//     nearest word such as 在, 住, 到 or 地址; a name written just before it
//     is taken into it.
//   - The model must copy placeholders verbatim; one it rewrites ("[EMAIL 1]",
//     "EMAIL_1") is not restored.
package privacy
