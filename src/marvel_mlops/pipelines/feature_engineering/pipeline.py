"""The feature_engineering pipeline: train_set, test_set → feature tables keyed by page_id."""

from kedro.pipeline import Pipeline, node, pipeline

from marvel_mlops.pipelines.feature_engineering.nodes import (
    attribute_table,
    build_timeline,
    checked_attributes,
    checked_group_features,
    group_feature_table,
    label_table,
    online_publication,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Builds the feature_engineering pipeline."""
    p = "params:feature_engineering"
    return pipeline(
        [
            node(
                build_timeline,
                ["train_set@spark", "test_set@spark", f"{p}.arrival", f"{p}.folds"],
                "character_timeline",
                name="build_timeline",
            ),
            node(label_table, "character_timeline", "character_labels@spark", name="label_table"),
            node(attribute_table, "character_timeline", "attribute_rows", name="attribute_table"),
            node(
                group_feature_table,
                ["character_timeline", f"{p}.alive_rate", f"{p}.as_of"],
                "group_feature_rows",
                name="group_feature_table",
            ),
            node(
                checked_attributes,
                "attribute_rows",
                "character_attributes@spark",
                name="check_character_attributes",
            ),
            node(
                checked_group_features,
                "group_feature_rows",
                "character_group_features@spark",
                name="check_character_group_features",
            ),
            node(
                online_publication,
                ["character_attributes@spark", "character_group_features@spark", f"{p}.as_of"],
                "feature_store",
                name="publish_online_store",
            ),
        ],
        tags="feature_engineering",
        namespace="feature_engineering",
        prefix_datasets_with_namespace=False,
    )
