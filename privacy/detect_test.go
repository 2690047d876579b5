package privacy

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"
)

// Test secrets are assembled from pieces so that no complete key-shaped
// literal sits in the repository for secret scanners to flag.
var (
	openAIKey    = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
	anthropicKey = "sk-ant-api03-" + "xY7zW2vU5tS8rQ1pO4nM6lK9jI3hG0fE"
	awsKey       = "AKIA" + "IOSFODNN7EXAMPLE"
	githubToken  = "ghp_" + "aB3cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV3wX4"
	githubPAT    = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
	slackToken   = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
	googleKey    = "AIza" + "SyD3kF8gH2jK5lM9nP4qR7sT1vW6xY0zA3b"
	stripeKey    = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
	hfToken      = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"
	jwt          = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ" +
		".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	pemKey = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" +
		"VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA " + "PRIVATE KEY-----"
)

// positives: each input and exactly the spans ("kind:text") it must yield.
var positives = []struct {
	in   string
	want []string
}{
	// email
	{"Contact me at john.doe@fastmail.com for details.", []string{"email:john.doe@fastmail.com"}},
	{"请发邮件到zhang.san@qq.com，谢谢", []string{"email:zhang.san@qq.com"}},
	{"Email: first+tag@mail.example.co.uk.", []string{"email:first+tag@mail.example.co.uk"}},
	{"邮箱：li_si-2024@company.cn。", []string{"email:li_si-2024@company.cn"}},
	{`<a href="mailto:alice@corp.io">write</a>`, []string{"email:alice@corp.io"}},
	// phone
	{"Call me at +1 415 555 0132 tomorrow.", []string{"phone:+1 415 555 0132"}},
	{"UK office: +44 20 7946 0958", []string{"phone:+44 20 7946 0958"}},
	{"London desk +44 (0)20 7946 0958.", []string{"phone:+44 (0)20 7946 0958"}},
	{"Paris +33 1 23 45 67 89", []string{"phone:+33 1 23 45 67 89"}},
	{"Phone (415) 555-0132 or email", []string{"phone:(415) 555-0132"}},
	{"Dial 415-555-0132 now", []string{"phone:415-555-0132"}},
	{"or 415.555.0132", []string{"phone:415.555.0132"}},
	{"toll free 1-800-555-0199.", []string{"phone:1-800-555-0199"}},
	{"Tel: 020 7946 0958", []string{"phone:020 7946 0958"}},
	{"我的手机号是13800138000，有事打我", []string{"phone:13800138000"}},
	{"手机：138 0013 8000", []string{"phone:138 0013 8000"}},
	{"联系电话138-0013-8000", []string{"phone:138-0013-8000"}},
	{"号码 +86 138 0013 8000 找张三", []string{"phone:+86 138 0013 8000"}},
	{"请拨打+8613912345678", []string{"phone:+8613912345678"}},
	{"0086 13912345678", []string{"phone:0086 13912345678"}},
	{"86-13812345678", []string{"phone:86-13812345678"}},
	{"（+86）15912345678", []string{"phone:（+86）15912345678"}},
	{"北京办公室010-12345678", []string{"phone:010-12345678"}},
	{"深圳：0755-1234567", []string{"phone:0755-1234567"}},
	{"座机（010）87654321转人工", []string{"phone:（010）87654321"}},
	// cn_id
	{"身份证号：11010519491231002X", []string{"cn_id:11010519491231002X"}},
	{"他的身份证是310115198511204814。", []string{"cn_id:310115198511204814"}},
	{"ID 44030419900307123X, issued 2010", []string{"cn_id:44030419900307123X"}},
	{"510108197510103324", []string{"cn_id:510108197510103324"}},
	{"born on a leap day: 11010120000229123x", []string{"cn_id:11010120000229123x"}},
	{"老身份证号码：110105491231002", []string{"cn_id:110105491231002"}},
	// bank_card
	{"Card: 4111 1111 1111 1111, exp 12/27", []string{"bank_card:4111 1111 1111 1111"}},
	{"5500-0000-0000-0004", []string{"bank_card:5500-0000-0000-0004"}},
	{"Amex 3782 822463 10005", []string{"bank_card:3782 822463 10005"}},
	{"卡号6222021234567890128", []string{"bank_card:6222021234567890128"}},
	{"银行卡：6217 0012 3456 7893", []string{"bank_card:6217 0012 3456 7893"}},
	{"Discover 6011111111111117", []string{"bank_card:6011111111111117"}},
	{"JCB 3530111333300000.", []string{"bank_card:3530111333300000"}},
	// iban
	{"IBAN: GB82 WEST 1234 5698 7654 32", []string{"iban:GB82 WEST 1234 5698 7654 32"}},
	{"pay DE89370400440532013000 today", []string{"iban:DE89370400440532013000"}},
	{"FR14 2004 1010 0505 0001 3M02 606", []string{"iban:FR14 2004 1010 0505 0001 3M02 606"}},
	{"收款账户NL91ABNA0417164300", []string{"iban:NL91ABNA0417164300"}},
	{"CH93 0076 2011 6238 5295 7.", []string{"iban:CH93 0076 2011 6238 5295 7"}},
	// ip
	{"server at 192.168.1.10:8080", []string{"ip:192.168.1.10"}},
	{"ping 93.184.216.34.", []string{"ip:93.184.216.34"}},
	{"服务器IP是10.0.0.5，端口22", []string{"ip:10.0.0.5"}},
	{"IPv6 2001:0db8:85a3:0000:0000:8a2e:0370:7334", []string{"ip:2001:0db8:85a3:0000:0000:8a2e:0370:7334"}},
	{"link-local fe80::1 on eth0", []string{"ip:fe80::1"}},
	{"https://[2001:db8::8a2e:370:7334]:443/", []string{"ip:2001:db8::8a2e:370:7334"}},
	{"mapped ::ffff:192.0.2.1 here", []string{"ip:::ffff:192.0.2.1"}},
	// secret
	{"my key is " + openAIKey, []string{"secret:" + openAIKey}},
	{"ANTHROPIC_API_KEY=" + anthropicKey, []string{"secret:" + anthropicKey}},
	{"aws_access_key_id = " + awsKey, []string{"secret:" + awsKey}},
	{"git clone https://" + githubToken + "@github.com/o/r", []string{"secret:" + githubToken}},
	{"GH " + githubPAT, []string{"secret:" + githubPAT}},
	{"slack " + slackToken, []string{"secret:" + slackToken}},
	{"maps?key=" + googleKey, []string{"secret:" + googleKey}},
	{"stripe.api_key = '" + stripeKey + "'", []string{"secret:" + stripeKey}},
	{"HF token " + hfToken, []string{"secret:" + hfToken}},
	{"jwt: " + jwt, []string{"secret:" + jwt}},
	{"key file:\n" + pemKey + "\nend", []string{"secret:" + pemKey}},
	{"password=hunter2", []string{"secret:hunter2"}},
	{`{"api_key": "9f8e7d6c5b4a39281706"}`, []string{"secret:9f8e7d6c5b4a39281706"}},
	{"DB_PASSWORD=supersecret", []string{"secret:supersecret"}},
	{"passwd: s3cr3t!", []string{"secret:s3cr3t!"}},
	{"my password is Tr0ub4dor&3", []string{"secret:Tr0ub4dor&3"}},
	{"secret: 'x9Kp2mQ7vR4t'", []string{"secret:x9Kp2mQ7vR4t"}},
	{"https://api.example.com/v1?token=abcd1234efgh5678", []string{"secret:abcd1234efgh5678"}},
	{"Authorization: Bearer abcdef1234567890abcdef", []string{"secret:abcdef1234567890abcdef"}},
	{"我的密码是Abc12345，别告诉别人", []string{"secret:Abc12345"}},
	{"口令：qwer1234", []string{"secret:qwer1234"}},
	{"验证码为 482913", []string{"secret:482913"}},
	// address
	{"I live at 1600 Amphitheatre Parkway, Mountain View, CA 94043.", []string{"address:1600 Amphitheatre Parkway, Mountain View, CA 94043"}},
	{"Ship to 221B Baker Street, London NW1 6XE", []string{"address:221B Baker Street, London NW1 6XE"}},
	{"350 Fifth Avenue, New York, NY 10118", []string{"address:350 Fifth Avenue, New York, NY 10118"}},
	{"123 N Main St., Apt 4B, Springfield, IL 62701-1234", []string{"address:123 N Main St., Apt 4B, Springfield, IL 62701-1234"}},
	{"at 742 Evergreen Terrace.", []string{"address:742 Evergreen Terrace"}},
	{"Postcode SW1A 1AA", []string{"address:SW1A 1AA"}},
	{"Manchester M1 1AE", []string{"address:M1 1AE"}},
	{"我住在北京市朝阳区建国路88号，欢迎来玩", []string{"address:北京市朝阳区建国路88号"}},
	{"地址：上海市浦东新区世纪大道100号", []string{"address:上海市浦东新区世纪大道100号"}},
	{"请寄到广东省深圳市南山区科苑路15号", []string{"address:广东省深圳市南山区科苑路15号"}},
	{"家住阳光花园3栋2单元501室", []string{"address:阳光花园3栋2单元501室"}},
	{"中关村大街27号", []string{"address:中关村大街27号"}},
	{"公司在杭州市西湖区文三路90号东部软件园5号楼", []string{"address:杭州市西湖区文三路90号", "address:东部软件园5号楼"}},
	{"电话：(021) 6234 5678", []string{"phone:(021) 6234 5678"}},
	{"call me at 555-0132", []string{"phone:555-0132"}},
	{"reach me on WhatsApp +49 151 23456789", []string{"phone:+49 151 23456789"}},
	{"Mobile: 07700 900123", []string{"phone:07700 900123"}},
	{"postgres://admin:S3cretPass@db.internal:5432/app", []string{"secret:S3cretPass"}},
	{"redis://:p4ss!w0rd$@localhost:6379", []string{"secret:p4ss!w0rd$"}},
	{"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Rk2Lm", []string{"secret:wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Rk2Lm"}},
	{"他家在成都市武侯区人民南路四段11号", []string{"address:成都市武侯区人民南路四段11号"}},
	{"上海市黄浦区南京东路100弄5号", []string{"address:上海市黄浦区南京东路100弄5号"}},
	{"北京市海淀区中关村南大街5号院3号楼2单元401", []string{"address:北京市海淀区中关村南大街5号院3号楼2单元"}},
	{"1 Infinite Loop, Cupertino, CA 95014", []string{"address:1 Infinite Loop, Cupertino, CA 95014"}},
	{"Send it to 10 Downing St, London SW1A 2AA, UK", []string{"address:10 Downing St, London SW1A 2AA"}},
	// several in one text
	{"张三，手机13912345678，邮箱zs@example.cn，住上海市徐汇区漕溪北路88号", []string{
		"phone:13912345678", "email:zs@example.cn", "address:上海市徐汇区漕溪北路88号"}},
	{"Contact: jane@acme.com / +1 (212) 555-0147 / 10 Downing Street", []string{
		"email:jane@acme.com", "phone:+1 (212) 555-0147", "address:10 Downing Street"}},
}

// negatives: text that holds no personal data.
var negatives = []string{
	"Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning.",
	"She has 16 - 3 = 13 eggs left, 13 - 4 = 9, and sells them for 9 * $2 = $<<9*2=18>>18.",
	"A robe takes 2 bolts of blue fiber and 2/2 * 1/2 = 1/2 bolt of white fiber, 2 + 1/2 = 5/2 = 2.5",
	"The sum 1+2+3+4+5+6+7+8+9 = 45, and +5 -3 +12 = 14.",
	"In 1999 and 2023 prices rose; it costs $1,299.99 or ¥8999 or 13,800,138,000 yuan.",
	"Meeting on 2024-03-15 at 14:30:00, or 03/15/2024, or 15.03.2024.",
	"π ≈ 3.14159265358979323846 and e ≈ 2.718281828459045",
	"Install version v1.2.3, then 1.2.3.4.5, build 10.0.19041.1 or version 2.1.0.4.",
	"123456789012345678 is an 18-digit number and so is 110105194912310021.",
	"1234567812345678 and 4111111111111112 fail the Luhn check.",
	"Order number 2023120112345678 shipped.",
	"ISBN 978-3-16-148410-0 or 9783161484100",
	"Timestamp 1700000000000 ms, 1700000000 s.",
	"UUID 123e4567-e89b-12d3-a456-426614174000, sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"A ratio of 1:2:4 and 12:30:45 and 1:19:36:84:126:126:84:36:19:1",
	"std::vector<int> v; a::b; Foo::bar(); dead::beef",
	"The IP 256.1.1.1 is invalid; the subnet mask is 255.255.255.0 and the wildcard 0.0.0.255.",
	"Answer: A. 1000 B. 1000000 C. 1000000000 D. -328716",
	"Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field. A. 0 B. 1 C. 2 D. 3 Answer:",
	"Which of the following best describes the structure that collects urine in the body? A. Bladder B. Kidney",
	"He scored 13 points, 8 rebounds and 0 assists (13-8-0); call 911 or 112.",
	"The quick brown fox jumps over the lazy dog.",
	"def add(a, b):\n    return a + b\nfor (int i = 0; i < 10; i++) { sum += i; }",
	"token = tokenizer.encode(text)\nmax_tokens=2048\nbos_token: str = '<s>'",
	"password = getpass.getpass()\napi_key = os.environ[\"OPENAI_API_KEY\"]",
	"export PASSWORD=$DB_PASS; password: ********; token: null",
	"Please enter your password: then click Login. The secret: be kind.",
	"PWD=/home/user/project",
	"https://example.com/path?page=2&sort=asc#top",
	"icon@2x.png, @decorator, user @ host, git@github.com:tandem-llm/tandem.git",
	"scikit-learn: sk-learn-is-a-great-library; the risk-free rate; AKIA is a prefix; eyJ is base64.",
	"Bearer tokens are described in RFC 6750.",
	"Room 101 on floor 3; the 5th of May; 42nd Street.",
	"Matrix [[1, 2], [3, 4]] and list [EMAIL_1] in a template.",
	"忘记密码了怎么办？密码学是研究加密的学科。",
	"地铁2号线和3号线在这里换乘。",
	"这条路3号开放，3月5号见面，我在3楼开会。",
	"第5号选手表现很好，第1352号文件已下发。",
	"人民币13800元，温度为24～26°C，增长了3.5%。",
	"在孵化室温度为24～26°C的条件下，立体孵化器孵化鸡蛋的最适温度为37.8°C",
	"今年是2024年，共有365天，一周7天。",
	"The Wall Street Journal and Fifth Avenue shops.",
	"A1 B2 C3 chess moves; the M25 motorway; COVID-19.",
	// shaped like personal data but identifying no one
	"Documentation addresses: jdoe@example.com, bob@mail.example.org, a@b.test; resolvers 8.8.8.8 and 1.1.1.1.",
	"RFC 7540, section 8.1.2.2 and OID 2.5.4.10; see 4.2.1.14.",
	// code
	"x := []int64{-4181792142133755926, 4576982950128230565, 1395769623340756751}",
	"{\"4294967296\", \"17179869184\"}, {+100000000, \"0.1\"}, Unix(-19012425939, 649146258)",
	"cmd.Env = append(os.Environ(), \"PWD=\"+cmd.Dir)\nt.Errorf(\"unexpected PWD: want %s\", dir)",
	"ATTR_SAE_PASSWORD = 0x115\nSecret: Bug4Secret{1},\n// groupname:password:GID:user_list\ncom.Token = \"// indirect\"",
	"encodeUserPassword: \"encodeUserPassword\", password = \"secret\"",
}

func spanStrings(spans []Span) []string {
	out := make([]string, len(spans))
	for i, sp := range spans {
		out[i] = string(sp.Kind) + ":" + sp.Text
	}
	return out
}

func TestFindPositives(t *testing.T) {
	d := NewDetector()
	if len(positives) < 60 {
		t.Fatalf("only %d positive examples", len(positives))
	}
	for _, c := range positives {
		got := d.Find(c.in)
		if fmt.Sprint(spanStrings(got)) != fmt.Sprint(c.want) {
			t.Errorf("Find(%q)\n got %q\nwant %q", c.in, spanStrings(got), c.want)
		}
		checkSpans(t, c.in, got)
		if !d.Contains(c.in) {
			t.Errorf("Contains(%q) = false", c.in)
		}
	}
}

func TestFindNegatives(t *testing.T) {
	d := NewDetector()
	if len(negatives) < 40 {
		t.Fatalf("only %d negative examples", len(negatives))
	}
	for _, in := range negatives {
		if got := d.Find(in); len(got) > 0 {
			t.Errorf("Find(%q) = %q, want nothing", in, spanStrings(got))
		}
		if d.Contains(in) {
			t.Errorf("Contains(%q) = true", in)
		}
	}
}

// checkSpans verifies the Find contract: in bounds, sorted, non-overlapping,
// on rune boundaries, Text matching the offsets.
func checkSpans(t *testing.T, text string, spans []Span) {
	t.Helper()
	prev := 0
	for _, sp := range spans {
		if sp.Start < prev || sp.End <= sp.Start || sp.End > len(text) {
			t.Fatalf("Find(%q): span %+v out of order or bounds (previous end %d)", text, sp, prev)
		}
		if sp.Text != text[sp.Start:sp.End] {
			t.Fatalf("Find(%q): span %+v has the wrong text", text, sp)
		}
		if splitsRune(text, sp.Start) || splitsRune(text, sp.End) {
			t.Fatalf("Find(%q): span %+v splits a rune", text, sp)
		}
		if label(sp.Kind) == "" {
			t.Fatalf("Find(%q): span %+v has an unknown kind", text, sp)
		}
		prev = sp.End
	}
}

// splitsRune reports whether offset p falls inside a valid multi-byte UTF-8
// sequence of text (stray bytes of invalid text are not runes to split).
func splitsRune(text string, p int) bool {
	for q := max(0, p-utf8.UTFMax+1); q < p; q++ {
		if r, n := utf8.DecodeRuneInString(text[q:]); (r != utf8.RuneError || n > 1) && q+n > p {
			return true
		}
	}
	return false
}

// TestValidIPv6 checks the allocation-free IPv6 validator against net/netip.
func TestValidIPv6(t *testing.T) {
	for _, s := range []string{
		"::", "::1", "1::", "fe80::1", "2001:db8::", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "1:2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1::2", "1:2:3:4:5:6:7", "12345::1",
		"::ffff:192.0.2.1", "::192.0.2.1", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:1.2.3", "::1.2.3.04",
		"::ffff:256.1.1.1", "1:", ":", "", "g::1", "1:2:3:4:5:6::1.2.3.4", "::1.2.3.4.5", "a:b:c:d:e:f:0:1",
	} {
		a, err := netip.ParseAddr(s)
		want := err == nil && a.Is6() && a.Zone() == ""
		if got := validIPv6(s); got != want {
			t.Errorf("validIPv6(%q) = %v, netip says %v", s, got, want)
		}
	}
}

func TestChecksums(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{{"4111111111111111", true}, {"378282246310005", true}, {"4111111111111112", false}, {"79927398713", true}} {
		if got := luhn(c.in); got != c.want {
			t.Errorf("luhn(%s) = %v", c.in, got)
		}
	}
	d := NewDetector()
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"BE68 5390 0754 7034", true}, {"ES91 2100 0418 4502 0005 1332", true}, {"IT60 X054 2811 1010 0000 0123 456", true},
		{"DE89 3704 0044 0532 0130 01", false}, {"DE89 3704 0044 0532 0130", false}, {"ZZ89 3704 0044 0532 0130 00", false},
	} {
		s := scan{d: d, t: c.in}
		if _, ok := s.iban(0); ok != c.want {
			t.Errorf("iban(%q) = %v", c.in, ok)
		}
	}
	for _, c := range []struct {
		in   string
		want bool
	}{{"11010519491231002X", true}, {"110105194912310021", false}, {"110105194913310027", false}, {"110105190002290011", false}} {
		if _, ok := chineseID(c.in, 0, digitRun(c.in, 0)); ok != c.want {
			t.Errorf("chineseID(%s) = %v", c.in, ok)
		}
	}
}

// TestFindConcurrent shares one Detector between goroutines (run with -race).
func TestFindConcurrent(t *testing.T) {
	d := NewDetector()
	done := make(chan string)
	for g := 0; g < 4; g++ {
		go func() {
			for _, c := range positives {
				if got := fmt.Sprint(spanStrings(d.Find(c.in))); got != fmt.Sprint(c.want) {
					done <- fmt.Sprintf("Find(%q) = %s", c.in, got)
					return
				}
			}
			done <- ""
		}()
	}
	for g := 0; g < 4; g++ {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}

func TestFindEdges(t *testing.T) {
	d := NewDetector()
	for _, in := range []string{"", "@", "+", ":", "::", "[", "-----BEGIN ", "密码：", "1", "+1", "a@b", "\xff\xfe@\x80.com", "路1号", strings.Repeat("9", 10000)} {
		checkSpans(t, in, d.Find(in))
	}
}
