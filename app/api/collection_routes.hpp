#pragma once

#include "api/router.hpp"
#include "repositories/collection_repository.hpp"
#include "repositories/document_service.hpp"
#include "repositories/field_indexes.hpp"

namespace nexu::api {

// GET /api/v1/collections, PUT and DELETE /api/v1/collections/{c} (API.md
// "Collections and documents"). Handlers validate and delegate; they run on
// the worker pool (they read the store).
void add_collection_routes(Router& router,
                           repositories::CollectionRepository& collections,
                           repositories::DocumentService& documents,
                           repositories::FieldIndexes* indexes);

}  // namespace nexu::api
