//! The weekly reminder over SMTP (lettre): the transport and the message. Each reminder holds
//! the group's name, the check-in link and the member's own unsubscribe link; never anything
//! about answers. Who is reminded, and when, is the reminders job's ([`crate::jobs::reminders`]).

use hearth_core::reminder::reminder_text;
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("smtp_url is not usable: {0}")]
    BadUrl(String),
    #[error("email_from is not an address: {0}")]
    BadFrom(String),
    #[error("could not build the email: {0}")]
    Build(String),
    #[error("the mail server could not be reached: {0}")]
    Send(String),
    /// A reply the server gave: only its code, since its words often quote the recipient.
    #[error("the mail server answered {code}")]
    Answered { code: String, permanent: bool },
}

/// A sending error, without the server's words.
fn send_error(e: &lettre::transport::smtp::Error) -> MailError {
    match e.status() {
        Some(code) => MailError::Answered {
            code: code.to_string(),
            permanent: e.is_permanent(),
        },
        None => MailError::Send(e.to_string()),
    }
}

/// An SMTP connection pool and the sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mailer(from {})", self.from)
    }
}

impl Mailer {
    /// `url` as lettre reads it: `smtps://user:pass@host` (TLS), `smtp://host:587?tls=required`
    /// (STARTTLS), or `smtp://localhost:25` (plain, for a relay on the same machine).
    /// Needs a tokio runtime (the connection pool runs on it).
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailError> {
        // lettre's rustls uses whichever crypto provider is installed; Hearth's is ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (builder, from) = Self::parse(url, from)?;
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// Checks the settings without connecting (for configuration loading).
    pub fn check(url: &str, from: &str) -> Result<(), MailError> {
        Self::parse(url, from).map(drop)
    }

    fn parse(
        url: &str,
        from: &str,
    ) -> Result<(lettre::transport::smtp::AsyncSmtpTransportBuilder, Mailbox), MailError> {
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::BadUrl(e.to_string()))?;
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| MailError::BadFrom(e.to_string()))?;
        Ok((builder, from))
    }

    /// Checks that the mail server answers (for `hearth check`).
    pub async fn test_connection(&self) -> Result<bool, MailError> {
        self.transport
            .test_connection()
            .await
            .map_err(|e| send_error(&e))
    }

    async fn send(&self, message: Message) -> Result<(), MailError> {
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| send_error(&e))
    }

    /// Builds and sends one reminder to `to`.
    pub(crate) async fn send_reminder(
        &self,
        to: &str,
        group: &str,
        checkin_link: &str,
        stop_link: &str,
    ) -> Result<(), MailError> {
        self.send(reminder(&self.from, to, group, checkin_link, stop_link)?)
            .await
    }
}

/// Builds one reminder.
fn reminder(
    from: &Mailbox,
    to: &str,
    group: &str,
    checkin_link: &str,
    stop_link: &str,
) -> Result<Message, MailError> {
    let to = to
        .parse::<Mailbox>()
        .map_err(|e| MailError::Build(e.to_string()))?;
    let text = reminder_text(group, checkin_link, stop_link);
    let mut message = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(text.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(text.body)
        .map_err(|e| MailError::Build(e.to_string()))?;
    // One-click unsubscribe (RFC 8058): mail programs offer a button that POSTs to the link.
    // lettre has no typed headers for these, so they go in raw.
    for (name, value) in [
        ("List-Unsubscribe", format!("<{stop_link}>")),
        (
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".to_owned(),
        ),
    ] {
        message.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str(name),
            value,
        ));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reminder_has_one_click_unsubscribe_headers() {
        let from: Mailbox = "Hearth <hearth@example.org>".parse().unwrap();
        let m = reminder(
            &from,
            "sam@example.org",
            "Circle",
            "https://h.example/checkin",
            "https://h.example/reminders/stop/t0k",
        )
        .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains("List-Unsubscribe: <https://h.example/reminders/stop/t0k>"),
            "{raw}"
        );
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("To: sam@example.org"));
        assert!(reminder(&from, "not an address", "C", "a", "b").is_err());
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(matches!(
            Mailer::check("ftp://x", "a@b.org"),
            Err(MailError::BadUrl(_))
        ));
        assert!(matches!(
            Mailer::check("smtp://localhost:25", "nobody"),
            Err(MailError::BadFrom(_))
        ));
        assert!(Mailer::check("smtps://u:p@mail.example.org", "Group <g@example.org>").is_ok());
    }
}
