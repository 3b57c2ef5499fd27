/**
 * JSON schemas for the Strimzi resources k8s/ uses (kafka.strimzi.io/v1beta2: Kafka,
 * KafkaNodePool, KafkaTopic, KafkaUser), hand-written from Strimzi's CRD reference because no npm package
 * ships Strimzi's CRDs (the kubernetes-models family has none, the io.strimzi:api jar carries
 * Java classes only). They cover every field k8s/ sets and reject unknown fields at the levels
 * they model (additionalProperties: false), which the operator's structural CRD schemas do
 * too; nested blocks we do not use (template, authorization, …) are accepted as objects.
 */

type Schema = Record<string, unknown>;

const quantity: Schema = {
  anyOf: [
    { type: 'integer' },
    { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$' },
  ],
};

const resources: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    requests: { type: 'object', additionalProperties: quantity },
    limits: { type: 'object', additionalProperties: quantity },
    claims: { type: 'array' },
  },
};

/** Broker/topic configuration: scalar values only. */
const config: Schema = {
  type: 'object',
  additionalProperties: { type: ['string', 'number', 'boolean'] },
};

const metadata: Schema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 },
    namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

/** The strimzi.io/cluster label ties a pool or a topic to its Kafka cluster. */
const clusterLabelled: Schema = {
  ...metadata,
  required: ['name', 'labels'],
  properties: {
    ...(metadata.properties as Schema),
    labels: {
      type: 'object',
      required: ['strimzi.io/cluster'],
      properties: { 'strimzi.io/cluster': { type: 'string', minLength: 1 } },
      additionalProperties: { type: 'string' },
    },
  },
};

const volume: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    id: { type: 'integer', minimum: 0 },
    type: { enum: ['ephemeral', 'persistent-claim'] },
    size: { type: 'string' },
    sizeLimit: { type: 'string' },
    class: { type: 'string' },
    deleteClaim: { type: 'boolean' },
    kraftMetadata: { enum: ['shared'] },
    selector: { type: 'object' },
    overrides: { type: 'array' },
  },
  // A persistent volume needs its size.
  if: { properties: { type: { const: 'persistent-claim' } } },
  then: { required: ['size'] },
};

const storage: Schema = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'volumes'],
      properties: {
        type: { const: 'jbod' },
        volumes: { type: 'array', minItems: 1, items: { ...volume, required: ['type', 'id'] } },
      },
    },
    {
      ...volume,
      properties: {
        ...(volume.properties as Schema),
        type: { enum: ['ephemeral', 'persistent-claim'] },
      },
    },
  ],
};

/** One ACL rule of a KafkaUser (simple authorization). */
const aclRule: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['resource', 'operations'],
  properties: {
    type: { enum: ['allow', 'deny'] },
    resource: {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: {
        type: { enum: ['topic', 'group', 'cluster', 'transactionalId'] },
        name: { type: 'string', minLength: 1 },
        patternType: { enum: ['literal', 'prefix'] },
      },
      // Every resource but the cluster is named.
      if: { properties: { type: { const: 'cluster' } } },
      then: { not: { required: ['name'] } },
      else: { required: ['name'] },
    },
    operations: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: {
        enum: [
          'Read',
          'Write',
          'Create',
          'Delete',
          'Alter',
          'Describe',
          'ClusterAction',
          'AlterConfigs',
          'DescribeConfigs',
          'IdempotentWrite',
          'All',
        ],
      },
    },
    host: { type: 'string' },
  },
};

const resource = (kind: string, meta: Schema, spec: Schema): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'kafka.strimzi.io/v1beta2' },
    kind: { const: kind },
    metadata: meta,
    spec,
  },
});

export const STRIMZI_SCHEMAS: Readonly<Record<string, Schema>> = {
  KafkaNodePool: resource('KafkaNodePool', clusterLabelled, {
    type: 'object',
    additionalProperties: false,
    required: ['replicas', 'roles', 'storage'],
    properties: {
      replicas: { type: 'integer', minimum: 0 },
      roles: {
        type: 'array',
        minItems: 1,
        uniqueItems: true,
        items: { enum: ['controller', 'broker'] },
      },
      storage,
      resources,
      jvmOptions: { type: 'object' },
      template: { type: 'object' },
    },
  }),
  Kafka: resource('Kafka', metadata, {
    type: 'object',
    additionalProperties: false,
    required: ['kafka'],
    properties: {
      kafka: {
        type: 'object',
        additionalProperties: false,
        required: ['listeners'],
        properties: {
          version: { type: 'string', pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$' },
          metadataVersion: { type: 'string', pattern: '^[0-9]+\\.[0-9]+(-IV[0-9]+)?$' },
          listeners: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'port', 'type', 'tls'],
              properties: {
                name: { type: 'string', pattern: '^[a-z0-9]{1,11}$' },
                port: { type: 'integer', minimum: 9092 },
                type: {
                  enum: ['internal', 'route', 'loadbalancer', 'nodeport', 'ingress', 'cluster-ip'],
                },
                tls: { type: 'boolean' },
                authentication: {
                  type: 'object',
                  required: ['type'],
                  properties: {
                    type: { enum: ['tls', 'scram-sha-512', 'oauth', 'custom'] },
                  },
                },
                configuration: { type: 'object' },
                networkPolicyPeers: { type: 'array', items: { type: 'object' } },
              },
            },
          },
          config,
          authorization: {
            type: 'object',
            required: ['type'],
            properties: {
              type: { enum: ['simple', 'opa', 'keycloak', 'custom'] },
              superUsers: { type: 'array', items: { type: 'string' } },
            },
          },
          rack: { type: 'object' },
          resources,
          jvmOptions: { type: 'object' },
          logging: { type: 'object' },
          metricsConfig: { type: 'object' },
          template: { type: 'object' },
        },
      },
      entityOperator: {
        type: 'object',
        additionalProperties: false,
        properties: {
          topicOperator: { type: 'object' },
          userOperator: { type: 'object' },
          template: { type: 'object' },
        },
      },
      clusterCa: { type: 'object' },
      clientsCa: { type: 'object' },
      cruiseControl: { type: 'object' },
      kafkaExporter: { type: 'object' },
      maintenanceTimeWindows: { type: 'array', items: { type: 'string' } },
    },
  }),
  KafkaUser: resource('KafkaUser', clusterLabelled, {
    type: 'object',
    additionalProperties: false,
    properties: {
      authentication: {
        type: 'object',
        additionalProperties: false,
        required: ['type'],
        properties: {
          type: { enum: ['tls', 'tls-external', 'scram-sha-512'] },
          password: { type: 'object' },
        },
      },
      authorization: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'acls'],
        properties: {
          type: { const: 'simple' },
          acls: { type: 'array', items: aclRule },
        },
      },
      quotas: { type: 'object' },
      template: { type: 'object' },
    },
  }),
  KafkaTopic: resource('KafkaTopic', clusterLabelled, {
    type: 'object',
    additionalProperties: false,
    properties: {
      topicName: { type: 'string', pattern: '^[a-zA-Z0-9._-]{1,249}$' },
      partitions: { type: 'integer', minimum: 1 },
      replicas: { type: 'integer', minimum: 1, maximum: 32767 },
      config,
    },
  }),
};
