//! `GET /images/search`: refused, since registries speaking the OCI distribution API have
//! no search.

use crate::error::ApiError;

pub async fn search() -> ApiError {
    ApiError::not_implemented(
        "image search is not supported by muelle: registries speak the OCI distribution API, which has no search; Docker Hub's search service is not used",
    )
}
