//! Redaction of secrets from text that may reach a log line or an error
//! message.
//!
//! Providers sometimes echo a key back in an error body, and URLs carry
//! signatures and tokens in their query. [`redact`] replaces the secret part
//! of each of these with `[REDACTED]`, keeping the rest readable:
//!
//! - `Authorization`-style schemes: `Bearer x`, `Basic x`, `Token x`;
//! - `name=value` and `"name": "value"` pairs whose name says secret
//!   (`token`, `api_key`, `X-Amz-Signature`, `client_secret`, `password`,
//!   `code`, ...);
//! - well-known key shapes (`sk-…`, `sk_live_…`, `whsec_…`, `hf_…`, `ghp_…`,
//!   `xoxb-…`, `AKIA…`, JWTs starting `eyJ`);
//! - passwords in URL user-info (`scheme://user:pass@host`);
//! - the secret path of Slack and Discord webhook URLs.

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Names whose value is a secret, compared ASCII case-insensitively.
const SECRET_NAMES: &[&str] = &[
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code_verifier",
    "api_secret",
    "api_key",
    "api-key",
    "apikey",
    "x-api-key",
    "dd-api-key",
    "secret",
    "secret_key",
    "secret_access_key",
    "aws_secret_access_key",
    "password",
    "passwd",
    "signature",
    "sig",
    "token",
    "code",
    "key",
    "authorization",
    "x-sentry-auth",
    "sentry_key",
    "private_key",
];

/// Prefixes of well-known secret shapes (case-sensitive).
const SECRET_PREFIXES: &[&str] = &[
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "whsec_",
    "hf_",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "github_pat_",
    "xoxb-",
    "xoxp-",
    "xapp-",
    "AKIA",
    "ASIA",
    "eyJ",
    "pcsk_",
    "m0-",
];

/// Authorization schemes whose next word is a credential.
const SCHEMES: &[&str] = &["Bearer", "Basic", "Token", "bearer"];

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn is_value_end(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '&' | '"' | '\'' | ',' | ';' | ')' | ']' | '}' | '<' | '>'
        )
}

/// Replace every secret found in `text` with [`REDACTED`].
///
/// This is a best-effort filter for text that plugbay did not write itself
/// (provider error bodies, URLs, source errors). Code must still never put
/// a secret into a message on purpose.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut prev: Option<char> = None;
    while !rest.is_empty() {
        let at_word_start = prev.is_none_or(|p| !is_word_char(p));
        // Webhook paths start with `/` in the middle of a URL.
        if (at_word_start || rest.starts_with('/'))
            && let Some(consumed) = redact_at(rest, &mut out)
        {
            prev = rest[..consumed].chars().next_back();
            rest = &rest[consumed..];
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Try each rule at the start of `s`; on a match, write the redacted form to
/// `out` and return how many bytes of `s` were consumed.
fn redact_at(s: &str, out: &mut String) -> Option<usize> {
    // `scheme://user:pass@host`
    if let Some(n) = url_userinfo(s, out) {
        return Some(n);
    }
    // Slack / Discord webhook URLs carry their secret in the path.
    for marker in ["hooks.slack.com/services/", "/api/webhooks/"] {
        if let Some(stripped) = s.strip_prefix(marker) {
            let end = stripped.find(is_value_end).unwrap_or(stripped.len());
            // Keep the Discord webhook id (first segment), hide the token.
            let keep = if marker == "/api/webhooks/" {
                stripped[..end].find('/').map(|i| i + 1).unwrap_or(end)
            } else {
                0
            };
            out.push_str(marker);
            out.push_str(&stripped[..keep]);
            if keep < end {
                out.push_str(REDACTED);
            }
            return Some(marker.len() + end);
        }
    }
    // `Bearer <credential>`
    for scheme in SCHEMES {
        if let Some(after) = s.strip_prefix(scheme) {
            let spaces = after.len() - after.trim_start_matches(' ').len();
            if spaces > 0 {
                let value = &after[spaces..];
                let end = value.find(is_value_end).unwrap_or(value.len());
                if end > 0 {
                    out.push_str(scheme);
                    out.push(' ');
                    out.push_str(REDACTED);
                    return Some(scheme.len() + spaces + end);
                }
            }
        }
    }
    // Well-known key shapes.
    for prefix in SECRET_PREFIXES {
        if s.starts_with(prefix) {
            let end = s
                .find(|c: char| !is_word_char(c) && c != '.')
                .unwrap_or(s.len());
            if end >= prefix.len() + 8 {
                out.push_str(REDACTED);
                return Some(end);
            }
        }
    }
    // `name=value`, `name: value`, `"name": "value"`.
    named_value(s, out)
}

fn url_userinfo(s: &str, out: &mut String) -> Option<usize> {
    let scheme_end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
        .unwrap_or(s.len());
    if scheme_end == 0 || !s[scheme_end..].starts_with("://") {
        return None;
    }
    let auth_start = scheme_end + 3;
    let authority_end = s[auth_start..]
        .find(|c: char| c == '/' || c == '?' || c == '#' || is_value_end(c))
        .map_or(s.len(), |i| auth_start + i);
    let authority = &s[auth_start..authority_end];
    let at = authority.rfind('@')?;
    let userinfo = &authority[..at];
    let colon = userinfo.find(':')?;
    out.push_str(&s[..auth_start]);
    out.push_str(&userinfo[..colon]);
    out.push(':');
    out.push_str(REDACTED);
    out.push_str(&authority[at..]);
    Some(authority_end)
}

fn named_value(s: &str, out: &mut String) -> Option<usize> {
    SECRET_NAMES.iter().find_map(|name| {
        let head = s.get(..name.len())?;
        if !head.eq_ignore_ascii_case(name) {
            return None;
        }
        named_value_after(s, name.len(), out)
    })
}

fn named_value_after(s: &str, name_len: usize, out: &mut String) -> Option<usize> {
    let name = &s[..name_len];
    let after_name = &s[name_len..];
    // The name must end here (`tokenizer=` is not `token=`).
    if after_name.chars().next().is_some_and(is_word_char) {
        return None;
    }
    let bytes = after_name.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'"') | Some(b'\'')) {
        i += 1;
    }
    while bytes.get(i) == Some(&b' ') {
        i += 1;
    }
    let separator = *bytes.get(i)?;
    if separator != b'=' && separator != b':' {
        return None;
    }
    // `key` and `code` are too common in prose ("error code: 42",
    // "key: photos/cat.png"): only their `name=value` form is a secret.
    if separator == b':' && (name.eq_ignore_ascii_case("key") || name.eq_ignore_ascii_case("code"))
    {
        return None;
    }
    i += 1;
    while bytes.get(i) == Some(&b' ') {
        i += 1;
    }
    if matches!(bytes.get(i), Some(b'"') | Some(b'\'')) {
        i += 1;
    }
    let value = &after_name[i..];
    let mut end = value.find(is_value_end).unwrap_or(value.len());
    if end == 0 {
        return None;
    }
    // `Authorization: Bearer xyz`: the credential is the word after the scheme.
    if SCHEMES.contains(&&value[..end]) && value[end..].starts_with(' ') {
        let tail = value[end..].trim_start_matches(' ');
        let skipped = value.len() - end - tail.len();
        end += skipped + tail.find(is_value_end).unwrap_or(tail.len());
    }
    out.push_str(&s[..name_len + i]);
    out.push_str(REDACTED);
    Some(name_len + i + end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic_credentials() {
        assert_eq!(
            redact("Authorization: Bearer abc.def"),
            "Authorization: [REDACTED]"
        );
        assert_eq!(
            redact("sent Bearer abc.def to x"),
            "sent Bearer [REDACTED] to x"
        );
        assert_eq!(redact("Basic dXNlcjpwYXNz"), "Basic [REDACTED]");
    }

    #[test]
    fn query_parameters() {
        let url = "https://b.s3.amazonaws.com/k?X-Amz-Expires=60&X-Amz-Signature=abcd1234&x=1";
        assert_eq!(
            redact(url),
            "https://b.s3.amazonaws.com/k?X-Amz-Expires=60&X-Amz-Signature=[REDACTED]&x=1"
        );
        assert_eq!(
            redact("?alt=media&token=uuid-1"),
            "?alt=media&token=[REDACTED]"
        );
        assert_eq!(redact("?key=AIzaXYZ"), "?key=[REDACTED]");
        assert_eq!(redact("code=xyz&state=s"), "code=[REDACTED]&state=s");
    }

    #[test]
    fn json_pairs() {
        assert_eq!(
            redact(r#"{"api_key": "abc", "model": "m"}"#),
            r#"{"api_key": "[REDACTED]", "model": "m"}"#
        );
        assert_eq!(
            redact(r#"{"client_secret":"s3cr3t"}"#),
            r#"{"client_secret":"[REDACTED]"}"#
        );
    }

    #[test]
    fn key_shapes() {
        assert_eq!(
            redact("Incorrect API key: sk-proj-1234567890abc"),
            "Incorrect API key: [REDACTED]"
        );
        assert_eq!(redact("whsec_C2FVsBQIhrscChlQIMV"), "[REDACTED]");
        assert_eq!(redact("jwt eyJhbGciOi.eyJzdWIi.sig"), "jwt [REDACTED]");
        // Short words that merely start alike stay.
        assert_eq!(redact("sk-1 hf_x"), "sk-1 hf_x");
    }

    #[test]
    fn url_userinfo_and_webhooks() {
        assert_eq!(
            redact("redis://user:hunter2@localhost:6379/0"),
            "redis://user:[REDACTED]@localhost:6379/0"
        );
        assert_eq!(
            redact("https://hooks.slack.com/services/T0/B0/XyZ"),
            "https://hooks.slack.com/services/[REDACTED]"
        );
        assert_eq!(
            redact("https://discord.com/api/webhooks/123/tok-en"),
            "https://discord.com/api/webhooks/123/[REDACTED]"
        );
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for text in [
            "object a/b.txt not found",
            "tokenizer=bpe",
            "monkey=1",
            "key: photos/cat.png",
            "the token budget was exhausted",
            "ünïcödé ✓",
        ] {
            assert_eq!(redact(text), text);
        }
    }
}
