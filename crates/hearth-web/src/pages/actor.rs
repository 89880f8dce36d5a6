//! `GET /actor`: ActivityPub JSON for servers, a readable profile for people.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hearth_core::InstanceRole;
use hearth_core::profile::{FOCUSES, REGIONS, SIZE_BANDS, label};
use hearth_federation::discovery;
use tower_sessions::Session;

use super::{Nav, render};
use crate::auth::signed_in;
use crate::{AppError, AppState};

#[derive(Template)]
#[template(path = "actor.html")]
pub struct ActorPage {
    pub nav: Nav,
    pub name: String,
    pub is_hub: bool,
    pub handle: String,
    pub region: Option<&'static str>,
    pub focuses: Vec<&'static str>,
    pub size_band: Option<&'static str>,
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Session,
) -> Result<Response, AppError> {
    let mut response = if discovery::wants_activity_json(&headers) {
        let data = state.fed();
        let json = discovery::actor_json(&data).await?;
        discovery::activity_response(json)
    } else {
        let settings = state.settings().await?;
        let account = signed_in(&state, &session).await?;
        let host = state
            .config
            .public_url
            .host_str()
            .unwrap_or_default()
            .to_owned();
        let port = state
            .config
            .public_url
            .port()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        render(&ActorPage {
            nav: Nav::for_account(&state, account.as_ref()).await?,
            is_hub: settings.role == InstanceRole::Hub,
            handle: format!("{}@{host}{port}", discovery::username(settings.role)),
            name: settings.name,
            region: settings.profile.region.and_then(|r| label(&REGIONS, r)),
            focuses: settings
                .profile
                .focuses
                .iter()
                .filter_map(|f| label(&FOCUSES, f))
                .collect(),
            size_band: settings
                .profile
                .size_band
                .and_then(|s| label(&SIZE_BANDS, s)),
        })?
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response.into_response())
}
