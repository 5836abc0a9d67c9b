#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "domain/access/collection_rules.hpp"
#include "infrastructure/uuid_v7.hpp"
#include "repositories/collection_repository.hpp"
#include "repositories/document_service.hpp"
#include "repositories/field_indexes.hpp"
#include "repositories/parsed_document_cache.hpp"
#include "repositories/query_service.hpp"
#include "support/store_fixture.hpp"

namespace nexu::testing {

inline domain::access::Principal user_principal(std::string id,
                                                std::vector<std::string> roles = {"user"}) {
    domain::access::Principal principal;
    principal.user_id = id;
    principal.username = "name-" + id;
    principal.roles = std::move(roles);
    return principal;
}

inline domain::access::Principal admin_principal() {
    return user_principal("admin-1", {"admin"});
}

inline domain::access::CollectionRules rules(std::string_view read, std::string_view write) {
    return {domain::access::AccessRule::parse(read).value(),
            domain::access::AccessRule::parse(write).value()};
}

// One nexu instance's data services over a store (several may share a StoreFixture).
struct DataServices {
    std::unique_ptr<infrastructure::Store> store;
    repositories::CollectionRepository collections{*store};
    repositories::ParsedDocumentCache parsed{64 * 1024 * 1024};
    repositories::FieldIndexes indexes;
    infrastructure::UuidV7Generator ids;
    repositories::DocumentService documents{*store, collections, parsed, ids, &indexes};
    repositories::QueryService queries;

    explicit DataServices(
        std::unique_ptr<infrastructure::Store> opened,
        repositories::QuerySettings settings = {},
        std::size_t snapshot_budget = repositories::FieldIndexes::kDefaultSnapshotBudget)
        : store(std::move(opened)),
          indexes{*store, parsed, std::chrono::milliseconds{0}, snapshot_budget},
          queries{*store, documents, parsed, &indexes, settings} {}
};

}  // namespace nexu::testing
