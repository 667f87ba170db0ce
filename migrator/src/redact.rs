//! Connection strings that never show their password.

use std::fmt;

/// A connection string whose `Display` and `Debug` replace the password with `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(String);

impl Redacted {
    /// Wraps a connection string.
    pub fn new(secret: impl Into<String>) -> Self {
        Redacted(secret.into())
    }

    /// The full string, password included: only for handing to a client library.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The user name of a URL such as `postgres://user:pw@host/db`, if it has one.
    pub fn user(&self) -> Option<&str> {
        let rest = self.0.split_once("://")?.1;
        let userinfo = rest.rsplit_once('@')?.0;
        let user = userinfo.split(':').next()?;
        (!user.is_empty()).then_some(user)
    }

    fn redacted(&self) -> String {
        let mut out = self.0.clone();
        if let Some((scheme, rest)) = self.0.split_once("://") {
            if let Some((userinfo, host)) = rest.rsplit_once('@') {
                if let Some((user, _)) = userinfo.split_once(':') {
                    out = format!("{scheme}://{user}:***@{host}");
                }
            }
        }
        if let Some(start) = out.find("password=") {
            let value_start = start + "password=".len();
            let end = out[value_start..]
                .find('&')
                .map_or(out.len(), |i| value_start + i);
            out.replace_range(value_start..end, "***");
        }
        out
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redacted({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::Redacted;

    #[test]
    fn hides_passwords_in_userinfo_and_query() {
        let url = Redacted::new("postgres://me:s3cr@t@db:5432/x?sslmode=require&password=p2");
        assert_eq!(
            url.to_string(),
            "postgres://me:***@db:5432/x?sslmode=require&password=***"
        );
        assert!(!format!("{url:?}").contains("s3cr"));
        assert_eq!(url.user(), Some("me"));
        assert_eq!(
            Redacted::new("postgres://db/x").to_string(),
            "postgres://db/x"
        );
    }
}
