#pragma once

#include "api/router.hpp"
#include "repositories/document_service.hpp"

namespace nexu::api {

// /api/v1/collections/{c}/documents and .../documents/{id}: create, read
// (ETag, If-None-Match → 304), replace (If-Match, If-None-Match: *), merge
// patch (application/merge-patch+json only), delete, list with cursors.
// Handlers validate and delegate to the DocumentService, which applies the
// access rules; they run on the worker pool.
void add_document_routes(Router& router, repositories::DocumentService& documents);

}  // namespace nexu::api
