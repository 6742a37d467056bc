//! The user-pays flow starts in the user's browser, on DeBox's authorize
//! page; we only build its URL. Every value is encoded as
//! `encodeURIComponent` would encode it, as DeBox asks for `redirect_uri`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{Amount, PayInfo, RedirectUri, UserId};

/// What `encodeURIComponent` leaves alone: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

pub fn encode_component(value: &str) -> String {
    utf8_percent_encode(value, URI_COMPONENT).to_string()
}

/// A user-pays order, ready to be turned into the authorize URL.
pub struct UserPays<'a> {
    pub app_id: &'a str,
    pub amount: Amount,
    pub payer: &'a UserId,
    pub merchant: &'a UserId,
    pub pay_info: &'a PayInfo,
    pub redirect_uri: &'a RedirectUri,
}

/// `<app base>/oauth/authorize?app_id=..&scope=payment&grant_type=onetime_token&amount=..&payer_user_id=..&receiver_user_id=..&pay_type=send&pay_info=..&redirect_uri=..`
pub fn authorize_url(app_base: &str, order: &UserPays) -> String {
    let amount = order.amount.to_string();
    let parameters = [
        ("app_id", order.app_id),
        ("scope", "payment"),
        ("grant_type", "onetime_token"),
        ("amount", amount.as_str()),
        ("payer_user_id", order.payer.as_str()),
        ("receiver_user_id", order.merchant.as_str()),
        ("pay_type", "send"),
        ("pay_info", order.pay_info.as_str()),
        ("redirect_uri", order.redirect_uri.as_str()),
    ];
    let query: Vec<String> = parameters
        .iter()
        .map(|(name, value)| format!("{name}={}", encode_component(value)))
        .collect();
    format!(
        "{}/oauth/authorize?{}",
        app_base.trim_end_matches('/'),
        query.join("&")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        // Expected values from JavaScript's encodeURIComponent.
        assert_eq!(
            encode_component("https://docs.debox.pro/demo/a.html"),
            "https%3A%2F%2Fdocs.debox.pro%2Fdemo%2Fa.html"
        );
        assert_eq!(encode_component("a b&c=d?e#f"), "a%20b%26c%3Dd%3Fe%23f");
        assert_eq!(encode_component("-_.!~*'()"), "-_.!~*'()");
        assert_eq!(encode_component("订单 42"), "%E8%AE%A2%E5%8D%95%2042");
        assert_eq!(encode_component("+/"), "%2B%2F");
    }

    #[test]
    fn builds_the_documented_url() {
        let payer = UserId::parse("ii0k2v5n").unwrap();
        let merchant = UserId::parse("rqg6g4j1").unwrap();
        let pay_info = PayInfo::try_from("test".to_string()).unwrap();
        let redirect =
            RedirectUri::try_from("https://docs.debox.pro/demo/a.html".to_string()).unwrap();
        let url = authorize_url(
            "https://app.debox.pro/",
            &UserPays {
                app_id: "ohpdAP9W55gyXeJ0",
                amount: "0.01".parse().unwrap(),
                payer: &payer,
                merchant: &merchant,
                pay_info: &pay_info,
                redirect_uri: &redirect,
            },
        );
        assert_eq!(
            url,
            "https://app.debox.pro/oauth/authorize?app_id=ohpdAP9W55gyXeJ0&scope=payment&grant_type=onetime_token\
             &amount=0.01&payer_user_id=ii0k2v5n&receiver_user_id=rqg6g4j1&pay_type=send&pay_info=test\
             &redirect_uri=https%3A%2F%2Fdocs.debox.pro%2Fdemo%2Fa.html"
        );
    }
}
