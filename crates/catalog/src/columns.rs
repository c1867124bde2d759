//! The columns of `aws.apigatewayv2_stage`, in table order.
//!
//! One list drives the Arrow schema, the catalog tables and the README, so the order and the
//! types cannot drift apart. The first 17 come from the DDSQL data-directory page (in its order);
//! the extensions follow.

/// The PostgreSQL type a column is presented as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `text`.
    Text,
    /// `json`: the value is JSON text, kept verbatim.
    Json,
    /// `boolean`.
    Boolean,
    /// `timestamp` (without time zone), UTC, microseconds.
    Timestamp,
    /// `hstore`: PostgreSQL's hstore output text, e.g. `"k"=>"v", "k2"=>"v2"`.
    Hstore,
}

impl ColumnType {
    /// The type's name as PostgreSQL's `format_type` prints it.
    pub fn pg_name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Json => "json",
            ColumnType::Boolean => "boolean",
            ColumnType::Timestamp => "timestamp without time zone",
            ColumnType::Hstore => "hstore",
        }
    }
}

/// One column of the table.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// Column name.
    pub name: &'static str,
    /// Presented PostgreSQL type.
    pub ty: ColumnType,
    /// Whether NULL can occur.
    pub nullable: bool,
    /// What the column means (shown as the column comment).
    pub description: &'static str,
}

const fn col(
    name: &'static str,
    ty: ColumnType,
    nullable: bool,
    description: &'static str,
) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        nullable,
        description,
    }
}

/// Number of columns in the table.
pub const COLUMN_COUNT: usize = 19;

/// The table's columns, in order. Index `i` here is column `i + 1` in PostgreSQL numbering.
pub const COLUMNS: [ColumnDef; COLUMN_COUNT] = [
    col(
        "_key",
        ColumnType::Text,
        false,
        "Unique key of the row: the stage ARN.",
    ),
    col(
        "access_log_settings",
        ColumnType::Json,
        true,
        "Settings for logging access in this stage: destination_arn and format.",
    ),
    col(
        "account_id",
        ColumnType::Text,
        false,
        "The 12-digit AWS account whose credentials listed the stage.",
    ),
    col(
        "api_gateway_managed",
        ColumnType::Boolean,
        true,
        "Whether the stage is managed by API Gateway (quick-create $default stages).",
    ),
    col(
        "auto_deploy",
        ColumnType::Boolean,
        true,
        "Whether updates to the API automatically trigger a new deployment.",
    ),
    col(
        "client_certificate_id",
        ColumnType::Text,
        true,
        "Client certificate identifier (WebSocket APIs only).",
    ),
    col(
        "created_date",
        ColumnType::Timestamp,
        true,
        "When the stage was created (UTC).",
    ),
    col(
        "default_route_settings",
        ColumnType::Json,
        true,
        "Default route settings for the stage.",
    ),
    col(
        "deployment_id",
        ColumnType::Text,
        true,
        "The deployment the stage is associated with.",
    ),
    col(
        "description",
        ColumnType::Text,
        true,
        "The description of the stage.",
    ),
    col(
        "last_deployment_status_message",
        ColumnType::Text,
        true,
        "Status of the last deployment (auto-deploy stages only).",
    ),
    col(
        "last_updated_date",
        ColumnType::Timestamp,
        true,
        "When the stage was last updated (UTC).",
    ),
    col(
        "route_settings",
        ColumnType::Text,
        true,
        "Route settings by route key, as compact JSON text with sorted keys.",
    ),
    col(
        "stage_arn",
        ColumnType::Text,
        false,
        "arn:{partition}:apigateway:{region}::/apis/{api_id}/stages/{stage_name}",
    ),
    col(
        "stage_name",
        ColumnType::Text,
        false,
        "The name of the stage.",
    ),
    col(
        "stage_variables",
        ColumnType::Hstore,
        true,
        "Stage variables as an hstore.",
    ),
    col(
        "tags",
        ColumnType::Hstore,
        true,
        "The stage's AWS tags as an hstore.",
    ),
    col(
        "region",
        ColumnType::Text,
        false,
        "Extension: the AWS region the stage was listed in.",
    ),
    col(
        "api_id",
        ColumnType::Text,
        false,
        "Extension: the API identifier.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_columns_come_first_in_seed_order() {
        let names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "_key",
                "access_log_settings",
                "account_id",
                "api_gateway_managed",
                "auto_deploy",
                "client_certificate_id",
                "created_date",
                "default_route_settings",
                "deployment_id",
                "description",
                "last_deployment_status_message",
                "last_updated_date",
                "route_settings",
                "stage_arn",
                "stage_name",
                "stage_variables",
                "tags",
                "region",
                "api_id",
            ]
        );
    }
}
