# ruby-pg and ActiveRecord (Debian ruby-pg, ruby-activerecord): connect (ActiveRecord sets
# intervalstyle = iso_8601 and client_min_messages on connect), list the table, its columns
# and primary key through ActiveRecord's schema reflection, read rows through a model and
# through ruby-pg with a bound parameter, COPY ... TO STDOUT one line per message.
require "json"
require "pg"
require "active_record"

def check(cond, what)
  raise "check failed: #{what}" unless cond
end

def eq(got, want, what)
  raise "#{what}: got #{got.inspect}, want #{want.inspect}" unless got == want
end

NAMES = %w[_key access_log_settings account_id api_gateway_managed auto_deploy
           client_certificate_id created_date default_route_settings deployment_id description
           last_deployment_status_message last_updated_date route_settings stage_arn stage_name
           stage_variables tags region api_id].freeze
STAGES = Integer(ENV.fetch("STAGESQL_EXPECT_STAGES", "50"))
conn_params = {
  host: ENV.fetch("PGHOST"), port: Integer(ENV.fetch("PGPORT")),
  user: ENV.fetch("PGUSER"), dbname: ENV.fetch("PGDATABASE"),
}

# ruby-pg on its own.
pg = PG.connect(**conn_params)
check(pg.server_version >= 150000, "server_version #{pg.server_version}")
res = pg.exec_params("SELECT stage_name, region, auto_deploy, created_date FROM aws.apigatewayv2_stage WHERE region = $1 ORDER BY _key", ["us-east-1"])
check(res.ntuples > 0, "rows in us-east-1")
eq(res.fields, %w[stage_name region auto_deploy created_date], "ruby-pg field names")
eq(res.ftype(2), 16, "auto_deploy is boolean")
eq(res.ftype(3), 1114, "created_date is timestamp")
res.each { |r| eq(r["region"], "us-east-1", "bound region") }
pg.exec("SET intervalstyle = iso_8601")
eq(pg.exec("SELECT interval '1 day 2 hours 3.5 seconds' AS i").getvalue(0, 0), "P1DT2H3.5S", "iso_8601 interval")
pg.exec("RESET intervalstyle")
eq(pg.exec("SELECT interval '-1 day 2 hours' AS i").getvalue(0, 0), "-1 days +02:00:00", "postgres interval")
# COPY TO STDOUT: get_copy_data returns one line per message, the header first.
lines = []
pg.copy_data("COPY (SELECT stage_name, region FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3) TO STDOUT WITH (FORMAT csv, HEADER)") do
  while (line = pg.get_copy_data)
    lines << line
  end
end
eq(lines.length, 4, "COPY: a header message and three row messages")
eq(lines[0], "stage_name,region\n", "COPY header line")
check(lines[1..].all? { |l| l.end_with?("\n") && l.count("\n") == 1 }, "one line per message")
pg.close

# ActiveRecord.
ActiveRecord::Base.establish_connection(adapter: "postgresql", host: conn_params[:host],
                                        port: conn_params[:port], username: conn_params[:user],
                                        database: conn_params[:dbname])
c = ActiveRecord::Base.connection
check(c.active?, "ActiveRecord connects")
check(c.schema_exists?("aws"), "schema aws exists")
check(c.data_source_exists?("aws.apigatewayv2_stage"), "table exists")
check(c.tables.is_a?(Array), "tables lists")
cols = c.columns("aws.apigatewayv2_stage")
eq(cols.map(&:name), NAMES, "ActiveRecord column names")
types = cols.to_h { |col| [col.name, col.sql_type] }
eq(types["auto_deploy"], "boolean", "auto_deploy sql_type")
eq(types["created_date"], "timestamp without time zone", "created_date sql_type")
eq(types["tags"], "hstore", "tags sql_type")
eq(types["access_log_settings"], "json", "access_log_settings sql_type")
eq(c.primary_key("aws.apigatewayv2_stage"), "_key", "primary key")

class Stage < ActiveRecord::Base
  self.table_name = "aws.apigatewayv2_stage"
  self.primary_key = "_key"
end
eq(Stage.count, STAGES, "Stage.count")
stages = Stage.order(:_key).to_a
eq(stages.length, STAGES, "every row read")
first = stages.first
check(first.stage_arn == first._key, "_key is the stage ARN")
check(first.created_date.is_a?(Time) || first.created_date.nil?, "created_date is a Time")
check(stages.any? { |s| s.tags.is_a?(Hash) && !s.tags.empty? }, "hstore tags decode to a Hash")
by_region = Stage.where(region: "us-east-1").group(:account_id).count
check(by_region.values.sum == Stage.where(region: "us-east-1").count, "grouped count adds up")
eq(Stage.find(first._key).stage_name, first.stage_name, "find by primary key")

puts JSON.generate({ client: "activerecord", ok: true })
