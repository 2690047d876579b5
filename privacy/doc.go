// Package privacy finds personal data in prompts and masks it, so that a
// router can keep personal data on the device.
//
// # What is detected
//
// A Detector finds, in English and Chinese text (full-width punctuation and
// Chinese text without spaces around the values included):
//
//   - email: local@domain.tld (not "icon@2x.png", not "git@host:repo").
//   - phone: international numbers with a leading + (+1 415 555 0132,
//     +44 20 7946 0958); North American (415) 555-0132, 415-555-0132,
//     1-800-555-0199; Chinese mobiles 1[3-9]xxxxxxxxx with +86/0086/86
//     prefixes and 3-4-4 grouping; Chinese landlines 010-12345678,
//     (0755)1234567; and any 7-15 digit number right after a phone keyword
//     ("Tel:", "phone number", 电话, 手机).
//   - cn_id: Chinese resident ID numbers, 18 characters with the ISO 7064
//     MOD 11-2 check character and a valid birth date; the old 15-digit form
//     only after 身份证.
//   - bank_card: 13-19 digits, contiguous or grouped, with a real issuer
//     prefix and a valid Luhn check digit.
//   - iban: country code, check digits and account of the country's length,
//     with or without spaces, passing the mod-97 check.
//   - ip: IPv4 dotted quads (not 1.2.3.4.5, not v1.2.3.4) and IPv6, full or
//     compressed.
//   - secret: OpenAI, Anthropic, AWS, GitHub, GitLab, Slack, Google, Stripe
//     and Hugging Face keys, JWTs, PEM private key blocks, bearer tokens and
//     the values after keywords such as password=, "api_key": , DB_PASSWORD=,
//     client_secret:, token=, 密码：, 口令是, 验证码为.
//   - address: US street addresses (number, name, Street/Ave/Rd/… suffix,
//     optional unit, city, state and ZIP), UK postcodes, and Chinese
//     addresses ending in a house number after a road or estate
//     (北京市朝阳区建国路88号, 阳光花园3栋2单元501室).
//
// Each scanner starts from a cheap trigger (an '@', a digit run, a '+', a ':',
// an ASCII word) and validates a small window with checksums and shape rules,
// so a 4 KB prompt takes microseconds and ordinary numbers, dates, prices,
// arithmetic, version numbers and code do not match. Find returns sorted,
// non-overlapping spans; Contains stops at the first match.
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
// replaces only placeholders this Masker put in. A StreamRestorer restores a
// streamed answer chunk by chunk, holding back only a possible partial
// placeholder or UTF-8 sequence at the end of a chunk.
//
// # Limits
//
//   - Names of people, organisations and places on their own, dates of birth,
//     passport and licence numbers, and national IDs other than China's are
//     not detected.
//   - Phone numbers in national formats without a keyword before them (a
//     bare "020 7946 0958"), numbers written with full-width digits, and
//     street addresses without a house number or in free form are missed.
//   - A password or token in prose is found only after a keyword and, unless
//     quoted or after 密码/口令 or an upper-case variable name, only when it
//     holds a digit or a symbol ("password: hunter2", not "password: hunter").
//   - Chinese address boundaries are heuristic: the start is the nearest
//     word such as 在, 住, 到 or 地址; a name written just before the address
//     is taken into it.
//   - The model must copy placeholders verbatim; one it rewrites ("[EMAIL 1]",
//     "EMAIL_1") is not restored.
package privacy
