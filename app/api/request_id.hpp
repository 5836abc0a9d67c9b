#pragma once

#include <string>
#include <string_view>

namespace nexu::api {

// The request id for a request: the client's X-Request-Id when it is sane
// (1-128 characters of [A-Za-z0-9._:-], so it is safe in logs and headers),
// otherwise a new random 16-hex-digit id.
std::string request_id_for(std::string_view client_value);

}  // namespace nexu::api
