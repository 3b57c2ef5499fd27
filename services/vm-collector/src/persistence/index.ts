export {
  FollowedDomainsStore,
  type LoadedFollowed,
  MAX_FOLLOWED_FILE_BYTES,
} from './followed-domains.store';
